// JSON patch (RFC 6902), as kube-apiserver applies `application/json-patch+json`: with
// evanphx/json-patch v4 (gopkg.in/evanphx/json-patch.v4), whose leniencies clients rely on:
// - `replace` of a missing key of an existing object adds it (v4's partialDoc.get returns no
//   error for a missing key). `kubectl rollout undo` replaces `/metadata/annotations`, which
//   a Deployment without annotations does not have. The parent must exist;
// - `test` of a missing location against `null` passes.
// Operations run one by one (fast-json-patch, with validation) on a deep copy.
//
// Errors: a body that is not an array of objects is a 400 (the apiserver fails to decode it);
// every failure while applying is a 422, as kube-apiserver reports it.

import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { PatchError } from './strategic-merge.js';

const { applyOperation, JsonPatchError } = jsonpatch;

type JMap = Record<string, unknown>;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Applies the RFC 6902 operations `ops` to a copy of `original`; throws PatchError. */
export function jsonPatch(original: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    throw new PatchError(`json: cannot unmarshal ${jsonTypeName(ops)} into Go value of type jsonpatch.Patch`, 400);
  }
  for (const op of ops) {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      throw new PatchError(`json: cannot unmarshal ${jsonTypeName(op)} into Go value of type jsonpatch.Operation`, 400);
    }
  }

  let doc = structuredClone(original);
  ops.forEach((raw: JMap, index) => {
    const kind = raw['op'];
    if (typeof kind !== 'string' || !OPS.has(kind)) throw new PatchError(`Unexpected kind: ${String(kind)}`);
    const path = raw['path'];
    if (typeof path !== 'string') throw new PatchError(`${kind} operation is missing a path`);
    let op = structuredClone(raw) as unknown as Operation;

    if (kind === 'replace' || kind === 'test') {
      const loc = locate(doc, path);
      if (kind === 'replace' && loc === 'missing-parent') {
        throw new PatchError(`replace operation does not apply: doc is missing path: ${path}: missing value`);
      }
      if (kind === 'replace' && loc === 'missing-key') op = { ...op, op: 'add' } as Operation;
      if (kind === 'test' && loc !== 'present' && raw['value'] === null) return;
    }

    try {
      doc = applyOperation(doc, op, true, true, true, index).newDocument;
    } catch (e) {
      throw translate(e, kind, path, raw);
    }
  });
  return doc;
}

/** Where a JSON pointer leads in `doc`. */
function locate(doc: unknown, pointer: string): 'present' | 'missing-key' | 'missing-parent' {
  if (pointer === '') return 'present';
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur: unknown = doc;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const key = parts[i]!;
    if (Array.isArray(cur)) {
      const idx = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : -1;
      if (idx < 0 || idx >= cur.length) return last ? 'missing-key' : 'missing-parent';
      cur = cur[idx];
    } else if (typeof cur === 'object' && cur !== null) {
      if (!Object.hasOwn(cur, key)) return last ? 'missing-key' : 'missing-parent';
      cur = (cur as JMap)[key];
    } else {
      return 'missing-parent';
    }
  }
  return 'present';
}

function translate(e: unknown, kind: string, path: string, raw: JMap): PatchError {
  if (e instanceof JsonPatchError) {
    switch (e.name) {
      case 'TEST_OPERATION_FAILED':
        return new PatchError(`testing value ${path} failed: test failed`);
      case 'OPERATION_PATH_UNRESOLVABLE':
      case 'OPERATION_PATH_CANNOT_ADD':
        return new PatchError(`${kind} operation does not apply: doc is missing path: "${path}": missing value`);
      case 'OPERATION_FROM_UNRESOLVABLE':
        return new PatchError(
          `${kind} operation does not apply: doc is missing from path: "${String(raw['from'])}": missing value`,
        );
      case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
      case 'OPERATION_VALUE_OUT_OF_BOUNDS':
        return new PatchError(`${kind} operation does not apply: invalid index in path "${path}"`);
      default:
        return new PatchError(`${kind} operation ${path}: ${e.message}`);
    }
  }
  return new PatchError(`${kind} operation ${path}: ${e instanceof Error ? e.message : String(e)}`);
}

function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'value';
  }
}
