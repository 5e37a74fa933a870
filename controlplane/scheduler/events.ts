// Records core/v1 Events about pods for the scheduler, the way client-go's recorder
// does: one Event per (object, type, reason, message); a repeat bumps its count and
// lastTimestamp instead of creating another. Named `<object>.<unix nanos in hex>` as
// client-go names them (a generateName ending in '.' would not validate).
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import { rfc3339, type ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';

const MAX_REMEMBERED = 4096;

export class EventRecorder {
  private eventDef = findResource('', 'v1', 'events')!;
  /** dedup key -> the Event's name */
  private seen = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly storage: ApiStorage,
    private readonly component: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const ns = obj.metadata.namespace ?? 'default';
    const key = [ns, obj.metadata.uid, type, reason, message].join('\u0000');
    const ts = rfc3339(this.now());
    const existing = this.seen.get(key);
    if (existing) {
      try {
        await this.storage.guaranteedUpdate(this.eventDef, ns, existing, {}, (cur) => {
          cur.count = (typeof cur.count === 'number' ? cur.count : 1) + 1;
          cur.lastTimestamp = ts;
          return cur;
        });
        this.remember(key, existing);
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
        this.seen.delete(key); // expired or deleted: start a new one
      }
    }
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: this.eventName(obj.metadata.name!), namespace: ns },
      involvedObject: {
        kind: obj.kind ?? 'Pod',
        apiVersion: obj.apiVersion ?? 'v1',
        namespace: ns,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: '',
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await this.storage.create(this.eventDef, ns, body);
        this.remember(key, created.metadata.name!);
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists') || attempt >= 3) throw e;
        body.metadata.name = this.eventName(obj.metadata.name!);
      }
    }
  }

  /** unix nanoseconds in hex; the sub-millisecond digits count events so names stay unique */
  private eventName(objName: string): string {
    this.seq = (this.seq + 1) % 1_000_000;
    const nanos = BigInt(this.now().getTime()) * 1_000_000n + BigInt(this.seq);
    return `${objName}.${nanos.toString(16)}`;
  }

  private remember(key: string, name: string): void {
    this.seen.delete(key);
    this.seen.set(key, name);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }
}
