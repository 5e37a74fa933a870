// The ConfigMaps and Secrets the node's pods use, read through the server (getObject on
// the agent's WebSocket) and kept with the time they were read, like kubelet's
// cache-based configmap/secret managers: a reader says how old an answer it accepts
// (0 when a container starts, the volume refresh period for mounted volumes).
// Concurrent reads of one object share one request. When the server cannot be asked
// (disconnected, no answer) a previously read value is used, so containers restart
// while the control plane is away; a NotFound answer is remembered as "absent".
import type { KubeObject } from '../../proto/meta.js';
import type { ObjectReply } from '../../proto/agent-protocol.js';

/** ConfigMaps and Secrets; PersistentVolumeClaims and PersistentVolumes for the pods' claims (claims.ts) */
export type ObjectKind = 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'PersistentVolume';

/** an object read that failed: the API's error (403, 500...) or code 0 when the server could not be asked */
export class ObjectError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export type ObjectFetcher = (
  kind: ObjectKind,
  namespace: string,
  name: string,
) => Promise<Pick<ObjectReply, 'object' | 'error'>>;

/** what the pod worker needs: the object, or null when it does not exist */
export interface ObjectSource {
  get(kind: ObjectKind, namespace: string, name: string, maxAgeMs: number): Promise<KubeObject | null>;
}

interface Entry {
  object: KubeObject | null;
  fetchedAt: number;
  usedAt: number;
}

/** entries nobody asked for in this long are dropped */
const IDLE_MS = 10 * 60_000;

export class ObjectCache implements ObjectSource {
  private entries = new Map<string, Entry>();
  private inflight = new Map<string, Promise<KubeObject | null>>();

  constructor(
    private readonly fetch: ObjectFetcher,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(kind: ObjectKind, namespace: string, name: string, maxAgeMs: number): Promise<KubeObject | null> {
    const key = `${kind}/${namespace}/${name}`;
    const now = this.now();
    this.sweep(now);
    const e = this.entries.get(key);
    if (e) e.usedAt = now;
    if (e && maxAgeMs > 0 && now - e.fetchedAt < maxAgeMs) return e.object;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(key, kind, namespace, name).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async load(key: string, kind: ObjectKind, namespace: string, name: string): Promise<KubeObject | null> {
    let reply: Pick<ObjectReply, 'object' | 'error'>;
    try {
      reply = await this.fetch(kind, namespace, name);
    } catch (err) {
      const stale = this.entries.get(key);
      if (stale) return stale.object;
      throw new ObjectError(0, 'Unavailable', `cannot read ${kind.toLowerCase()} "${name}": ${(err as Error).message}`);
    }
    const now = this.now();
    if (reply.error) {
      if (reply.error.code === 404) {
        this.entries.set(key, { object: null, fetchedAt: now, usedAt: now });
        return null;
      }
      // Forbidden (no pod here references it any more) or a server-side failure: nothing to keep
      if (reply.error.code === 403) this.entries.delete(key);
      throw new ObjectError(reply.error.code, reply.error.reason, reply.error.message);
    }
    const object = (reply.object ?? null) as KubeObject | null;
    this.entries.set(key, { object, fetchedAt: now, usedAt: now });
    return object;
  }

  private lastSweep = 0;
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [k, e] of this.entries) if (now - e.usedAt > IDLE_MS) this.entries.delete(k);
  }
}
