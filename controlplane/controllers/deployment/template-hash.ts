// The pod-template-hash and semantic pod template equality (controller.ComputeHash,
// deploymentutil.EqualIgnoreHash). Two templates are the same when they differ only in the
// pod-template-hash label, `creationTimestamp: null`, empty maps/lists vs missing ones
// (as apimachinery's Semantic.DeepEqual), fields the API server defaults, or the spelling
// of a quantity ("1000m" = "1"). kubectl rollout undo relies on this to find the old RS.
import type { PodSpec } from '../../../proto/api/types.gen.js';
import { canonicalJson, clone } from '../../../proto/canonical.js';
import { scaledValue } from '../../../proto/quantity.js';
import { defaultPodTemplate } from '../../resources/pod-template.js';
import { isPodTemplate } from '../replica-set/pods.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** 32-bit FNV-1a (hash/fnv New32a), continuing from `h`. */
export function fnv32a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: map every character onto consonants and digits that spell no words. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

function normalizeQuantities(map: unknown): void {
  if (!map || typeof map !== 'object' || Array.isArray(map)) return;
  const m = map as Record<string, unknown>;
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string' && typeof v !== 'number') continue;
    try {
      m[k] = `${scaledValue(v, -9)}n`;
    } catch {
      /* invalid quantities compare as written */
    }
  }
}

function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => prune(x) ?? null);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const p = prune(x);
    if (p === null || p === undefined) continue;
    if (Array.isArray(p) && p.length === 0) continue;
    if (typeof p === 'object' && !Array.isArray(p) && Object.keys(p as object).length === 0) continue;
    out[k] = p;
  }
  return out;
}

/** The template in a form where semantically equal templates are byte-equal. */
export function normalizeTemplate(template: unknown): unknown {
  const raw = template ?? {};
  // what is not an object (never a stored template) is compared as it is
  if (!isPodTemplate(raw)) return prune(clone(raw));
  const t = clone(raw);
  defaultPodTemplate(t);
  if (t.metadata?.labels) delete t.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  const spec: Partial<PodSpec> = t.spec ?? {};
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      normalizeQuantities(c?.resources?.limits);
      normalizeQuantities(c?.resources?.requests);
    }
  }
  normalizeQuantities(spec.overhead);
  if (Array.isArray(spec.volumes)) {
    for (const v of spec.volumes) {
      if (v?.emptyDir?.sizeLimit !== undefined) {
        const holder = { q: v.emptyDir.sizeLimit };
        normalizeQuantities(holder);
        v.emptyDir.sizeLimit = holder.q;
      }
    }
  }
  return prune(t);
}

/** EqualIgnoreHash: the same pod template apart from the pod-template-hash label. */
export function equalIgnoreHash(a: unknown, b: unknown): boolean {
  return canonicalJson(normalizeTemplate(a)) === canonicalJson(normalizeTemplate(b));
}

/**
 * ComputeHash: FNV-32a over the template (here its normalised canonical JSON, so equal
 * templates hash alike) plus the collision count as 8 little-endian bytes, then
 * SafeEncodeString of the decimal value.
 */
export function computeHash(template: unknown, collisionCount?: number | null): string {
  let h = fnv32a(Buffer.from(canonicalJson(normalizeTemplate(template)), 'utf8'));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(collisionCount >>> 0, 0);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}
