// Picks the patch algorithm for a Content-Type and turns patch failures into API errors.
import type { KubeObject } from '../../../proto/meta.js';
import { resolve, schemaFor } from '../../../proto/schema/check-fields.js';
import type { ResourceDef } from '../../resources/types.js';
import { ApiError, badRequest, unsupportedMediaType } from '../errors.js';
import { jsonMergePatch } from './json-merge.js';
import { jsonPatch } from './json-patch.js';
import { PatchError, strategicMergePatch } from './strategic-merge.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  switch (base) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+json':
      return 'apply';
    default:
      throw unsupportedMediaType(contentType ?? '');
  }
}

/** `def`: the patched kind (a Scale's patch names no stored kind: its kind and resource only) */
export function applyPatch(
  type: PatchType,
  cur: KubeObject,
  patch: unknown,
  def: Pick<ResourceDef, 'custom' | 'kind' | 'resource'>,
): unknown {
  try {
    switch (type) {
      case 'json':
        return jsonPatch(cur, patch);
      case 'merge':
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
          throw badRequest('merge patch must be a JSON object');
        return jsonMergePatch(cur, patch);
      case 'strategic':
      case 'apply': {
        // custom resources have no patch strategies: kube-apiserver refuses the type
        if (type === 'strategic' && def.custom)
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
          );
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
          throw badRequest('patch must be a JSON object');
        // Server-side apply: the manifest is merged onto the live object with the
        // strategic-merge list keys; ownership, pruning and conflicts follow in
        // storage.patch (managed-fields/managers.ts applyManagers).
        const body = type === 'apply' ? withoutTypeMeta(patch as KubeObject) : patch;
        return strategicMergePatch(cur, body, def.custom ? def.custom.applySchema : schemaFor(def.kind), resolve);
      }
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (e instanceof PatchError) {
      throw e.code === 400
        ? badRequest(e.message)
        : new ApiError(422, 'Invalid', e.message, {
            kind: def.resource,
            causes: [{ reason: 'FieldValueInvalid', message: e.message }],
          });
    }
    throw e;
  }
}

function withoutTypeMeta(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  const meta = rest.metadata ? { ...rest.metadata } : undefined;
  if (meta) {
    delete meta.resourceVersion;
    delete meta.managedFields;
  }
  return meta ? ({ ...rest, metadata: meta } as KubeObject) : (rest as KubeObject);
}
