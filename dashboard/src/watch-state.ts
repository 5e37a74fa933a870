// The list-then-watch state of one collection, as a pure reducer (client-go's reflector
// and store in small): a LIST gives the items and the resourceVersion to watch from;
// each watch event adds, replaces or removes one object; a BOOKMARK only moves the
// resourceVersion on; an ERROR 410 (Expired/Gone) means the watch cannot resume and the
// collection must be listed again. No I/O here: the watch client is api.ts.
import type { KubeObject, List, Status, WatchEvent } from './types.js';

export interface ListState<T extends KubeObject> {
  /** namespace/name → object */
  items: ReadonlyMap<string, T>;
  resourceVersion: string;
  /** a LIST has arrived */
  synced: boolean;
}

export function emptyState<T extends KubeObject>(): ListState<T> {
  return { items: new Map(), resourceVersion: '', synced: false };
}

export function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

export function fromList<T extends KubeObject>(list: List<T>): ListState<T> {
  const items = new Map<string, T>();
  for (const o of list.items ?? []) items.set(keyOf(o), o);
  return { items, resourceVersion: list.metadata?.resourceVersion ?? '', synced: true };
}

export type Applied<T extends KubeObject> =
  | { state: ListState<T>; relist: false }
  | { state: ListState<T>; relist: true; reason: string };

function isStatus(o: unknown): o is Status {
  return typeof o === 'object' && o !== null && (o as Status).kind === 'Status';
}

/** one watch event applied; `relist` when the watch has to start over from a LIST */
export function applyEvent<T extends KubeObject>(state: ListState<T>, ev: WatchEvent<T>): Applied<T> {
  if (ev.type === 'ERROR') {
    const s = isStatus(ev.object) ? ev.object : undefined;
    return { state, relist: true, reason: s?.code === 410 ? 'expired' : (s?.message ?? 'watch error') };
  }
  if (isStatus(ev.object) || !ev.object?.metadata) return { state, relist: false };
  const obj = ev.object as T;
  const rv = obj.metadata.resourceVersion ?? state.resourceVersion;
  if (ev.type === 'BOOKMARK') return { state: { ...state, resourceVersion: rv }, relist: false };
  const items = new Map(state.items);
  if (ev.type === 'DELETED') items.delete(keyOf(obj));
  else items.set(keyOf(obj), obj);
  return { state: { items, resourceVersion: rv, synced: state.synced }, relist: false };
}

/**
 * Split a chunk of a watch response (one JSON object per line) into complete lines;
 * the unfinished tail is carried into the next call.
 */
export function splitLines(carry: string, chunk: string): { lines: string[]; carry: string } {
  const text = carry + chunk;
  const parts = text.split('\n');
  const rest = parts.pop() ?? '';
  return { lines: parts.filter((l) => l.trim() !== ''), carry: rest };
}
