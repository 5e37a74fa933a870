// Records core/v1 Events the way client-go's recorder does: one object per distinct
// (object, reason, message, source), later repeats bump count and lastTimestamp.
import type { ApiStorage } from './api/storage.js';
import { rfc3339 } from './api/storage.js';
import { ApiError } from './api/errors.js';
import { findResource } from './resources/index.js';

export interface EventInput {
  involvedObject: {
    kind: string;
    namespace?: string;
    name: string;
    uid: string;
    apiVersion?: string;
    fieldPath?: string;
    resourceVersion?: string;
  };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: { component: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

const DEDUPE_MS = 10 * 60_000;
const recent = new Map<string, { name: string; namespace: string; at: number }>();
/** when recent was last swept: at most once a minute (every call past 5000 young entries scanned them all) */
let sweptAt = 0;

export async function recordEvent(storage: ApiStorage, e: EventInput): Promise<void> {
  const def = findResource('', 'v1', 'events')!;
  const namespace = e.involvedObject.namespace || 'default';
  const now = new Date();
  const key = [
    e.involvedObject.uid,
    e.involvedObject.fieldPath ?? '',
    e.type,
    e.reason,
    e.message,
    e.source.component,
    e.source.host ?? '',
  ].join('\u0000');
  const seen = recent.get(key);
  if (seen && now.getTime() - seen.at < DEDUPE_MS) {
    try {
      await storage.guaranteedUpdate(def, seen.namespace, seen.name, {}, (cur) => {
        cur.count = (cur.count ?? 1) + 1;
        cur.lastTimestamp = rfc3339(now);
        return cur;
      });
      seen.at = now.getTime();
      return;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
  const name = `${e.involvedObject.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
  await storage.create(
    def,
    namespace,
    {
      metadata: { name, namespace },
      involvedObject: e.involvedObject,
      reason: e.reason,
      message: e.message,
      type: e.type,
      source: e.source,
      firstTimestamp: rfc3339(now),
      lastTimestamp: rfc3339(now),
      count: 1,
      reportingComponent: e.reportingComponent ?? e.source.component,
      reportingInstance: e.reportingInstance ?? e.source.host ?? '',
    },
    { fieldValidation: 'Ignore' },
  );
  recent.set(key, { name, namespace, at: now.getTime() });
  if (recent.size > 5000 && now.getTime() - sweptAt > 60_000) {
    sweptAt = now.getTime();
    for (const [k, v] of recent) if (now.getTime() - v.at > DEDUPE_MS) recent.delete(k);
  }
}
