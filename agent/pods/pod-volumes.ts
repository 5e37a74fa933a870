// One pod's volumes as its worker sets them up each sync (kubelet's volume manager for one
// pod): configMap/secret/downwardAPI/projected volumes written and refreshed, projected
// ServiceAccount tokens renewed, persistentVolumeClaims resolved to their PV's directory,
// emptyDirs made. What is still pending feeds the plan's volume gate (plan.ts gateOnVolumes).
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import { setVolumeOwnership } from '../storage/ownership.js';
import { claimVolumes, resolveClaim } from './claims.js';
import type { ObjectKind, ObjectSource } from './object-cache.js';
import type { SyncResult } from './plan.js';
import type { TokenManager } from './token-manager.js';
import {
  serviceAccountTokenKey,
  setUpEmptyDirs,
  setUpVolumes,
  tokenReferences,
  volumeReferences,
  type ClaimPath,
  type VolumeSources,
} from './volumes.js';

/** how stale the ConfigMaps/Secrets behind mounted volumes may get before a sync re-reads them */
export const VOLUME_REFRESH_MS = 30_000;
/** a repeated FailedMount event for the same volume and message at most this often */
const MOUNT_EVENT_INTERVAL_MS = 60_000;
/** a projected token is not renewed sooner than this after a sync */
const MIN_TOKEN_REFRESH_MS = 1000;

export interface PodVolumesDeps {
  node: string;
  dataDir: string;
  hostIP: () => string;
  log: Logger;
  event(pod: KubeObject<'Pod'>, type: 'Normal' | 'Warning', reason: string, message: string): void;
  objects?: ObjectSource;
  tokens?: TokenManager;
  volumeRefreshMs?: number;
}

/** what the sync left pending (the plan's gate) and when a projected token is due */
export interface VolumesState {
  volumesPending: boolean;
  claimsPending: boolean;
  /** renew the first projected token at 80 % of its life */
  tokenRefresh?: SyncResult;
}

const ref = (pod: KubeObject<'Pod'>) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

export class PodVolumes {
  /** configMap/secret/... volumes have been set up once (later syncs refresh them) */
  private setUp = false;
  /** volumes never set up yet: none of the pod's containers starts until they are (kubelet's WaitForAttachAndMount) */
  private notReady = new Set<string>();
  private mountEvents = new Map<string, { message: string; at: number }>();
  private warnings = new Set<string>();
  /** persistentVolumeClaim volumes resolved to their PV's directory (kept for the pod's life, as kubelet keeps a mount) */
  private readonly claims = new Map<string, ClaimPath>();
  /** claims not resolved yet: the pod's containers wait for them */
  private claimsNotReady = new Set<string>();

  constructor(private readonly d: PodVolumesDeps) {}

  /** the resolved claim directories, for the containers' mounts */
  get claimPaths(): ReadonlyMap<string, ClaimPath> {
    return this.claims;
  }

  /** set up or refresh everything of the pod's volumes; podIP for downwardAPI volumes */
  async sync(pod: KubeObject<'Pod'>, podIP: string | undefined): Promise<VolumesState> {
    const tokenRefresh = await this.syncWritten(pod, podIP);
    await this.syncClaims(pod);
    try {
      setUpEmptyDirs(pod, this.d.dataDir);
    } catch (err) {
      this.d.log.warn({ err, pod: ref(pod) }, 'emptyDir set-up failed');
    }
    return { ...this.pending(), ...(tokenRefresh ? { tokenRefresh } : {}) };
  }

  /** what the latest sync left pending (a sync that stops the pod does not set volumes up) */
  pending(): VolumesState {
    return { volumesPending: this.notReady.size > 0, claimsPending: this.claimsNotReady.size > 0 };
  }

  /** the tokens of the pod's projected serviceAccountToken sources, by serviceAccountTokenKey, and when the first is due */
  private async readTokens(
    pod: KubeObject<'Pod'>,
  ): Promise<{ tokens?: Map<string, string | Error>; refresh?: SyncResult }> {
    const refs = tokenReferences(pod);
    const tm = this.d.tokens;
    if (!refs.length || !tm) return {};
    const tokens = new Map<string, string | Error>();
    let next = Infinity;
    for (const t of refs) {
      const spec = {
        namespace: pod.metadata.namespace ?? 'default',
        serviceAccountName: String(pod.spec.serviceAccountName ?? 'default'),
        podName: pod.metadata.name,
        podUid: pod.metadata.uid,
        audience: t.audience,
        expirationSeconds: t.expirationSeconds,
      };
      try {
        tokens.set(serviceAccountTokenKey(t), await tm.get(spec));
        next = Math.min(next, tm.refreshAt(spec) ?? Infinity);
      } catch (e) {
        tokens.set(serviceAccountTokenKey(t), asError(e));
      }
    }
    if (next === Infinity) return { tokens };
    return {
      tokens,
      refresh: { requeueAfter: Math.max(MIN_TOKEN_REFRESH_MS, next - Date.now()), reason: 'TokenRefresh' },
    };
  }

  /**
   * Set up or refresh the pod's configMap/secret/downwardAPI/projected volumes: the first
   * time with freshly read objects, then re-reading them when older than the refresh period.
   * Failures are FailedMount events (kubelet's "MountVolume.SetUp failed for volume ...").
   */
  private async syncWritten(pod: KubeObject<'Pod'>, podIP: string | undefined): Promise<SyncResult | undefined> {
    const written = (pod.spec.volumes ?? []).filter((v) => v?.configMap || v?.secret || v?.downwardAPI || v?.projected);
    if (!written.length) return undefined;
    const now = Date.now();
    // first set-up: fresh objects; afterwards the cache re-reads those older than the refresh period
    const maxAge = this.setUp && !this.notReady.size ? (this.d.volumeRefreshMs ?? VOLUME_REFRESH_MS) : 0;
    const ns = pod.metadata.namespace ?? 'default';
    const refs = volumeReferences(pod);
    const read = async (kind: ObjectKind, names: Set<string>) => {
      const m = new Map<string, KubeObject | null | Error>();
      await Promise.all(
        [...names].map(async (name) => {
          if (!this.d.objects) {
            m.set(
              name,
              new Error(`cannot read ${kind.toLowerCase()} "${name}": the agent has no connection to the API`),
            );
            return;
          }
          try {
            m.set(name, await this.d.objects.get(kind, ns, name, maxAge));
          } catch (e) {
            m.set(name, asError(e));
          }
        }),
      );
      return m;
    };
    const { tokens, refresh } = await this.readTokens(pod);
    const sources: VolumeSources = {
      configMaps: await read('ConfigMap', refs.configMaps),
      secrets: await read('Secret', refs.secrets),
      ...(tokens ? { tokens } : {}),
    };
    const r = setUpVolumes(pod, this.d.dataDir, sources, {
      podIP: podIP ?? '',
      hostIP: this.d.hostIP(),
      nodeName: this.d.node,
    });
    this.notReady = new Set(r.notReady);
    if (r.written.length && this.setUp) this.d.log.info({ pod: ref(pod), volumes: r.written }, 'volumes updated');
    this.setUp = true;
    for (const e of r.errors) {
      const key = e.volume;
      const last = this.mountEvents.get(key);
      if (last && last.message === e.message && now - last.at < MOUNT_EVENT_INTERVAL_MS) continue;
      this.mountEvents.set(key, { message: e.message, at: now });
      this.d.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${e.volume}" : ${e.message}`);
    }
    for (const v of r.written) this.mountEvents.delete(v);
    for (const w of r.warnings) {
      if (this.warnings.has(w.message)) continue;
      this.warnings.add(w.message);
      this.d.event(pod, 'Warning', w.reason, w.message);
    }
    return refresh;
  }

  /**
   * Resolve the pod's persistentVolumeClaim volumes (claim -> bound PV -> directory) until
   * each is; then set the volume's ownership for the pod's fsGroup (local PVs, as kubelet's
   * local plugin; not hostPath ones). Unresolved claims keep the pod's containers waiting,
   * with kubelet's FailedMount event.
   */
  private async syncClaims(pod: KubeObject<'Pod'>): Promise<void> {
    const claims = claimVolumes(pod).filter((c) => !this.claims.has(c.volume));
    this.claimsNotReady = new Set(claims.map((c) => c.volume));
    if (!claims.length) return;
    const ns = pod.metadata.namespace ?? 'default';
    const errors: string[] = [];
    for (const c of claims) {
      try {
        if (!this.d.objects)
          throw new Error(`error processing PVC ${ns}/${c.claimName}: the agent has no connection to the API`);
        const objects = this.d.objects;
        const r = await resolveClaim(ns, c.claimName, (kind, namespace, name) => objects.get(kind, namespace, name, 0));
        const fsGroup = pod.spec.securityContext?.fsGroup;
        if (r.create) mkdirSync(r.path, { recursive: true });
        if (typeof fsGroup === 'number' && r.source === 'local') {
          // bounded: the walk is synchronous, a volume of millions of files must not stall the agent
          const o = setVolumeOwnership(r.path, fsGroup, {
            policy: pod.spec.securityContext?.fsGroupChangePolicy,
            maxEntries: 100_000,
          });
          if (!o.complete)
            this.d.log.warn(
              { pod: ref(pod), volume: c.volume, changed: o.changed },
              'fsGroup ownership: volume too large, walk stopped',
            );
        }
        this.claims.set(c.volume, { path: r.path, create: false });
        this.claimsNotReady.delete(c.volume);
        this.mountEvents.delete(`claim/${c.volume}`);
      } catch (e) {
        errors.push(asError(e).message);
      }
    }
    if (!errors.length) return;
    const pending = [...this.claimsNotReady].sort();
    // kubelet's WaitForAttachAndMount error, with the populator's reason
    const message = `Unable to attach or mount volumes: unmounted volumes=[${pending.join(' ')}], unattached volumes=[], failed to process volumes=[${pending.join(' ')}]: ${errors.join('; ')}`;
    const key = `claim/${pending.join(',')}`;
    const now = Date.now();
    const last = this.mountEvents.get(key);
    if (last && last.message === message && now - last.at < MOUNT_EVENT_INTERVAL_MS) return;
    this.mountEvents.set(key, { message, at: now });
    this.d.event(pod, 'Warning', 'FailedMount', message);
  }
}
