// Request attributes from an HTTP request, as apiserver's RequestInfoFactory derives them
// (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), and the 403 that
// a denial is answered with (endpoints/handlers/responsewriters: forbiddenMessage).
import { ApiError } from '../api/errors.js';
import type { Attributes, UserInfo } from './rules.js';
import { queryBool } from '../../proto/query-bool.js';

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function queryValue(search: string, key: string): string | undefined {
  let found: string | undefined;
  for (const part of search.split('&')) {
    const i = part.indexOf('=');
    const k = i < 0 ? part : part.slice(0, i);
    if (k !== key) continue;
    try {
      found = decodeURIComponent((i < 0 ? '' : part.slice(i + 1)).replace(/\+/g, ' '));
    } catch {
      found = '';
    }
  }
  return found;
}

/** `metadata.name=x` as the only exact name requirement of a field selector (RequiresExactMatch) */
function exactName(fieldSelector: string | undefined): string | undefined {
  if (!fieldSelector) return undefined;
  for (const term of fieldSelector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*([^,]*?)\s*$/.exec(term);
    if (m) return m[1];
  }
  return undefined;
}

/** RequestInfoFactory.NewRequestInfo + the user: the attributes the authorizer judges */
export function requestAttributes(method: string, url: string, user: UserInfo): Attributes {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? '' : url.slice(q + 1);
  const a: Attributes = {
    user,
    verb: method.toLowerCase(),
    resourceRequest: false,
    path,
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  let parts = path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((p) => p !== '');
  try {
    parts = parts.map((p) => decodeURIComponent(p));
  } catch {
    return a;
  }
  if (parts.length < 3) return a;
  const prefix = parts[0];
  if (prefix !== 'api' && prefix !== 'apis') return a;
  parts = parts.slice(1);
  let group = '';
  if (prefix === 'apis') {
    if (parts.length < 3) return a;
    group = parts[0]!;
    parts = parts.slice(1);
  }
  const r: Attributes = { ...a, resourceRequest: true, apiGroup: group, apiVersion: parts[0]! };
  parts = parts.slice(1);
  let viaSpecial = false;
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) return a;
    r.verb = parts[0]!;
    parts = parts.slice(1);
    viaSpecial = true;
  } else {
    switch (method) {
      case 'POST':
        r.verb = 'create';
        break;
      case 'GET':
      case 'HEAD':
        r.verb = 'get';
        break;
      case 'PUT':
        r.verb = 'update';
        break;
      case 'PATCH':
        r.verb = 'patch';
        break;
      case 'DELETE':
        r.verb = 'delete';
        break;
      default:
        r.verb = '';
    }
  }
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      r.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && r.verb !== 'proxy') r.subresource = parts[2]!;
  if (parts.length >= 2) r.name = parts[1]!;
  if (parts.length >= 1) r.resource = parts[0]!;
  if (!r.name && r.verb === 'get') {
    const w = queryValue(search, 'watch');
    r.verb = queryBool(w) ? 'watch' : 'list';
    const n = exactName(queryValue(search, 'fieldSelector'));
    if (n && !n.includes('/') && n !== '.' && n !== '..' && !n.includes('%')) r.name = n;
  }
  if (!r.name && r.verb === 'delete') r.verb = 'deletecollection';
  void viaSpecial;
  return r;
}

/** forbiddenMessage */
export function forbiddenMessage(a: Attributes): string {
  const user = a.user.name;
  if (!a.resourceRequest) return `User ${JSON.stringify(user)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (a.namespace)
    return `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} in the namespace ${JSON.stringify(a.namespace)}`;
  return `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} at the cluster scope`;
}

/** apierrors.NewForbidden(groupResource, name, err) */
export function newForbidden(group: string, resource: string, name: string, err: string): ApiError {
  const qualified = resource ? (group ? `${resource}.${group}` : resource) : '';
  const message = !qualified
    ? `forbidden: ${err}`
    : name
      ? `${qualified} ${JSON.stringify(name)} is forbidden: ${err}`
      : `${qualified} is forbidden: ${err}`;
  return new ApiError(403, 'Forbidden', message, {
    name: name || undefined,
    group: group || undefined,
    kind: resource || undefined,
  });
}

/** responsewriters.Forbidden for a denied request */
export function forbiddenError(a: Attributes, reason: string): ApiError {
  const msg = forbiddenMessage(a);
  return newForbidden(a.apiGroup, a.resource, a.name, reason ? `${msg}: ${reason}` : msg);
}
