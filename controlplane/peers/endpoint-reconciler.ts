// Every server in default/kubernetes, as kube-apiserver's lease endpoint reconciler: each
// server keeps its identity Lease (kube-system/apiserver-<hash>, labelled
// apiserver.kubernetes.io/identity=kube-apiserver, its address in the
// kubernetes.io/peer-advertise-address annotation) renewed every 10 s, and rewrites the
// default/kubernetes Endpoints and EndpointSlice(s) to the servers seen renewing within the
// last 15 s. A server deletes its Lease on a clean stop and takes itself out; a dead one
// drops out when the others stop seeing its Lease renewed. Identity Leases expired for an
// hour are deleted (kube-apiserver's apiserverleasegc).
// Map of the code base: ARCHITECTURE.md, "The parts".
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ApiStorage } from '../api/storage.js';
import { ApiError } from '../api/errors.js';
import { deepEqual } from '../../proto/canonical.js';
import type { KubeObject } from '../../proto/meta.js';
import { findResource } from '../resources/index.js';
import { realClock, type Clock } from '../leader/leader-elector.js';
import { microTime } from '../leader/lease-plan.js';
import {
  ENDPOINT_TTL_MS,
  HOSTNAME_LABEL,
  IDENTITY_LABEL,
  IDENTITY_LEASE_DURATION_SECONDS,
  IDENTITY_RENEW_INTERVAL_MS,
  IDENTITY_VALUE,
  PEER_ADDRESS_ANNOTATION,
  apiServerId,
  desiredEndpoints,
  expiredIdentityLeases,
  isExtraKubernetesSlice,
  liveServers,
  type SeenRenewals,
  type ServerEndpoint,
} from './kubernetes-endpoints.js';

export interface EndpointReconcilerOptions {
  storage: ApiStorage;
  /** this server's name (the hostname by default): its Lease is apiserver-<hash of it> */
  serverName: string;
  /** where pods reach this server; undefined (not IPv4): the Lease carries no address */
  endpoint: ServerEndpoint | undefined;
  log: Logger;
  clock?: Clock;
  intervalMs?: number;
  ttlMs?: number;
}

const leaseDef = () => findResource('coordination.k8s.io', 'v1', 'leases')!;
const epDef = () => findResource('', 'v1', 'endpoints')!;
const sliceDef = () => findResource('discovery.k8s.io', 'v1', 'endpointslices')!;
// the manager of these objects since the first skiff-server wrote them
const FIELD_MANAGER = 'skiff-server';

export class EndpointReconciler {
  readonly leaseName: string;
  readonly holderIdentity: string;
  private seen: SeenRenewals = new Map();
  private cancel: (() => void) | undefined;
  private running = false;
  private pass: Promise<void> | undefined;
  private readonly clock: Clock;

  constructor(private readonly opts: EndpointReconcilerOptions) {
    this.leaseName = apiServerId(opts.serverName);
    this.holderIdentity = `${this.leaseName}_${randomUUID()}`;
    this.clock = opts.clock ?? realClock;
  }

  /** the Lease renewed and the Endpoints written once before this resolves; then every interval */
  async start(): Promise<void> {
    this.running = true;
    await this.tick();
  }

  /** stop renewing, delete this server's Lease, write the Endpoints without it (never empty) */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.cancel?.();
    await this.pass?.catch(() => undefined);
    try {
      const own = await this.opts.storage.tryGet(leaseDef(), 'kube-system', this.leaseName);
      if (own?.spec?.holderIdentity === this.holderIdentity) {
        await this.opts.storage.delete(leaseDef(), 'kube-system', this.leaseName, {
          preconditions: { resourceVersion: own.metadata.resourceVersion },
        });
      }
      await this.reconcile(false);
    } catch (err) {
      this.opts.log.warn({ err }, 'removing this server from the kubernetes endpoints failed');
    }
  }

  /** resolves once the pass under way finished (tests) */
  async settled(): Promise<void> {
    await this.pass?.catch(() => undefined);
  }

  /** one pass (tests): renew, then reconcile */
  runOnce(): Promise<void> {
    this.pass = (async () => {
      await this.renew();
      await this.reconcile(true);
    })();
    return this.pass;
  }

  private async tick(): Promise<void> {
    try {
      await this.runOnce();
    } catch (err) {
      this.opts.log.warn({ err }, 'reconciling the kubernetes endpoints failed');
    }
    if (this.running)
      this.cancel = this.clock.after(this.opts.intervalMs ?? IDENTITY_RENEW_INTERVAL_MS, () => void this.tick());
  }

  /** create or take over (same name, new holder) this server's identity Lease and renew it */
  private async renew(): Promise<void> {
    const { storage, serverName, endpoint } = this.opts;
    const now = microTime(this.clock.now());
    const apply = (l: KubeObject): KubeObject => {
      l.metadata.labels = { ...l.metadata.labels, [IDENTITY_LABEL]: IDENTITY_VALUE, [HOSTNAME_LABEL]: serverName };
      const annotations = { ...l.metadata.annotations };
      if (endpoint) annotations[PEER_ADDRESS_ANNOTATION] = `${endpoint.ip}:${endpoint.port}`;
      else delete annotations[PEER_ADDRESS_ANNOTATION];
      l.metadata.annotations = annotations;
      l.spec = {
        ...l.spec,
        holderIdentity: this.holderIdentity,
        leaseDurationSeconds: IDENTITY_LEASE_DURATION_SECONDS,
        renewTime: now,
      };
      return l;
    };
    const cur = await storage.tryGet(leaseDef(), 'kube-system', this.leaseName);
    if (!cur) {
      try {
        await storage.create(
          leaseDef(),
          'kube-system',
          apply({
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.leaseName, namespace: 'kube-system' },
          }),
          { fieldManager: FIELD_MANAGER },
        );
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      }
    }
    await storage.guaranteedUpdate(leaseDef(), 'kube-system', this.leaseName, { fieldManager: FIELD_MANAGER }, apply);
  }

  private async reconcile(includeSelf: boolean): Promise<void> {
    const { storage, log } = this.opts;
    const now = this.clock.now();
    const leases = (
      await storage.list(leaseDef(), 'kube-system', { labelSelector: `${IDENTITY_LABEL}=${IDENTITY_VALUE}` })
    ).items;
    const expired = expiredIdentityLeases(leases, now).filter((l) => l.metadata.name !== this.leaseName);
    for (const l of expired) {
      await storage
        .delete(leaseDef(), 'kube-system', l.metadata.name!, {
          preconditions: { resourceVersion: l.metadata.resourceVersion },
        })
        .catch(() => undefined);
    }
    const gone = new Set(expired.map((l) => l.metadata.name));
    const mine = leases.filter(
      (l) => !gone.has(l.metadata.name) && (includeSelf || l.metadata.name !== this.leaseName),
    );
    const { live, seen } = liveServers(
      mine,
      this.seen,
      now,
      this.opts.ttlMs ?? ENDPOINT_TTL_MS,
      includeSelf ? this.leaseName : undefined,
    );
    this.seen = seen;
    // as kube-apiserver: no live server listed means something is wrong, not an empty cluster
    if (!live.length) return;
    const { subsets, slices } = desiredEndpoints(live);
    const ep = await ensure(storage, epDef(), {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
      },
      subsets,
    });
    if (!deepEqual(ep.subsets, subsets)) {
      log.info({ servers: live.map((s) => `${s.ip}:${s.port}`) }, 'resetting endpoints for the kubernetes service');
      await storage.guaranteedUpdate(epDef(), 'default', 'kubernetes', { fieldManager: FIELD_MANAGER }, (cur) => ({
        ...cur,
        subsets,
      }));
    }
    for (const s of slices) {
      const slice = await ensure(storage, sliceDef(), {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: s.name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
        addressType: 'IPv4',
        endpoints: s.endpoints,
        ports: s.ports,
      });
      if (!deepEqual(slice.endpoints, s.endpoints) || !deepEqual(slice.ports, s.ports)) {
        await storage.guaranteedUpdate(sliceDef(), 'default', s.name, { fieldManager: FIELD_MANAGER }, (cur) => ({
          ...cur,
          endpoints: s.endpoints,
          ports: s.ports,
        }));
      }
    }
    const wanted = new Set(slices.map((s) => s.name));
    const existing = (
      await storage.list(sliceDef(), 'default', { labelSelector: 'kubernetes.io/service-name=kubernetes' })
    ).items;
    for (const s of existing) {
      const name = s.metadata.name!;
      if (isExtraKubernetesSlice(name) && !wanted.has(name))
        await storage.delete(sliceDef(), 'default', name).catch(() => undefined);
    }
  }
}

async function ensure(
  storage: ApiStorage,
  def: NonNullable<ReturnType<typeof findResource>>,
  obj: KubeObject,
): Promise<KubeObject> {
  const existing = await storage.tryGet(def, 'default', obj.metadata.name!);
  if (existing) return existing;
  try {
    return await storage.create(def, 'default', obj, { fieldValidation: 'Strict', fieldManager: FIELD_MANAGER });
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    return storage.get(def, 'default', obj.metadata.name!);
  }
}
