// Client-side apply's annotation seen by server-side apply, as kube-apiserver's
// lastAppliedManager and lastAppliedUpdater do it for the manager "kubectl" only:
// - upgrading: the first `kubectl apply --server-side` of an object kept by client-side
//   `kubectl apply` may take, without --force-conflicts, the fields the
//   last-applied-configuration annotation holds with the values the object still has;
// - keeping in step: while the object has the annotation, a server-side apply by kubectl
//   rewrites it to the applied configuration (so a later client-side apply diffs correctly).
import { canonicalJson } from '../../../proto/canonical.js';
import { type FieldSet, difference } from './fieldset.js';
import type { Typed } from './typed.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** the only manager these rules apply to (users opt out by naming another) */
export const KUBECTL_MANAGER = 'kubectl';
/** ValidateAnnotationsSize: all annotations together at most 256 KiB */
const TOTAL_ANNOTATION_SIZE = 256 * 1024;

type Obj = Record<string, unknown>;

function annotationsOf(o: Obj | undefined): Record<string, unknown> | undefined {
  const m = o?.metadata;
  if (typeof m !== 'object' || m === null) return undefined;
  const a = (m as Obj).annotations;
  return typeof a === 'object' && a !== null && !Array.isArray(a) ? (a as Record<string, unknown>) : undefined;
}

/** allowedConflictsFromLastApplied: the annotation's fields whose values the live object still has */
export function allowedFromLastApplied(typed: Typed, live: Obj | undefined, apiVersion: string): FieldSet | undefined {
  const raw = annotationsOf(live)?.[LAST_APPLIED];
  if (typeof raw !== 'string' || raw === '') return undefined;
  let last: unknown;
  try {
    last = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof last !== 'object' || last === null || Array.isArray(last) || (last as Obj).apiVersion !== apiVersion)
    return undefined;
  const set = typed.toFieldSet(last);
  const c = typed.compare(last, live);
  return difference(difference(difference(set, c.modified), c.added), c.removed);
}

/** lastAppliedUpdater: the annotation rewritten to the applied configuration, when the object has one */
export function syncLastApplied(result: Obj, config: unknown): void {
  const ann = annotationsOf(result);
  if (!ann || typeof ann[LAST_APPLIED] !== 'string' || typeof config !== 'object' || config === null) return;
  const copy = structuredClone(config) as Obj;
  const a = annotationsOf(copy);
  if (a) delete a[LAST_APPLIED];
  // unstructured JSON as encoding/json writes a map: keys sorted, a trailing newline
  const value = canonicalJson(copy) + '\n';
  let size = 0;
  for (const [k, v] of Object.entries(ann))
    if (k !== LAST_APPLIED) size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  if (size + LAST_APPLIED.length + Buffer.byteLength(value) > TOTAL_ANNOTATION_SIZE) delete ann[LAST_APPLIED];
  else ann[LAST_APPLIED] = value;
}
