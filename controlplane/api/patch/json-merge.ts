// JSON merge patch (RFC 7386), as kube-apiserver applies `application/merge-patch+json`
// (evanphx/json-patch MergePatch): objects merge recursively, `null` deletes a key, any
// other value (arrays included) replaces the target. Nulls inside values that create new
// keys are dropped, as the RFC's recursive definition implies. Inputs are not mutated.

type JMap = Record<string, unknown>;

function isMap(v: unknown): v is JMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Returns `original` with `patch` merged in. A patch that is not an object replaces the
 * whole document (RFC 7386); kube-apiserver answers such a patch on an object with 400,
 * which is the caller's check to make.
 */
export function jsonMergePatch(original: unknown, patch: unknown): unknown {
  return mergeInto(structuredClone(original), patch);
}

/** RFC 7386 MergePatch(target, patch); `target` is owned and may be reused. */
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return structuredClone(patch);
  const out: JMap = isMap(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
      continue;
    }
    const merged = mergeInto(Object.hasOwn(out, k) ? out[k] : undefined, v);
    // defineProperty: a `__proto__` key must stay a plain own property
    Object.defineProperty(out, k, { value: merged, writable: true, enumerable: true, configurable: true });
  }
  return out;
}
