// Splits a REST path into what kube-apiserver's RequestInfo holds:
// /api/v1/namespaces/demo/pods/web/status -> group '', version v1, namespace demo,
// resource pods, name web, subresource status.
import { findResource } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';
import { ApiError, badRequest } from './errors.js';

export interface RequestInfo {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const NOT_FOUND = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

function decode(parts: string[]): string[] {
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    throw badRequest('malformed path');
  }
}

/** rest is what follows /api/v1/ or /apis/<g>/<v>/ */
export function parseResourcePath(group: string, version: string, rest: string): RequestInfo {
  const parts = decode(
    rest
      .split('?')[0]!
      .split('/')
      .filter((p) => p !== ''),
  );
  if (!parts.length) throw NOT_FOUND();
  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  let subresource: string | undefined;
  if (
    parts[0] === 'namespaces' &&
    parts.length >= 3 &&
    !(group === '' && parts.length === 3 && (parts[2] === 'status' || parts[2] === 'finalize'))
  ) {
    namespace = parts[1];
    resource = parts[2]!;
    name = parts[3];
    subresource = parts[4];
    if (parts.length > 5) throw NOT_FOUND();
  } else {
    resource = parts[0]!;
    name = parts[1];
    subresource = parts[2];
    if (parts.length > 3) throw NOT_FOUND();
  }
  const def = findResource(group, version, resource);
  if (!def) throw NOT_FOUND();
  if (namespace !== undefined && !def.namespaced) throw NOT_FOUND();
  if (subresource !== undefined && !(def.subresources as string[]).includes(subresource)) throw NOT_FOUND();
  return { def, namespace, name, subresource };
}
