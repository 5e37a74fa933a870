// The minimal OpenAPI v3 kubectl needs before it will `apply`: a root listing each
// group version and, per group version, a PATCH operation per kind that names the
// `fieldValidation` parameter, so kubectl validates server-side (KUBECTL.md §2).
// Built-in types need no schemas: kubectl's compiled-in types drive its patches.
import { createHash } from 'node:crypto';
import type { ResourceDef } from '../resources/types.js';
import { groupVersions } from './discovery.js';

export interface OpenApiDocs {
  root: unknown;
  /** keyed by 'api/v1' or 'apis/<group>/<version>' */
  docs: Map<string, { body: string; hash: string }>;
}

const PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' } }));

export function buildOpenApi(defs: ResourceDef[]): OpenApiDocs {
  const docs = new Map<string, { body: string; hash: string }>();
  const paths: Record<string, unknown> = {};
  for (const gv of groupVersions(defs)) {
    const base = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
    const docPaths: Record<string, unknown> = {};
    for (const d of gv.resources) {
      const gvk = { group: d.group, version: d.version, kind: d.kind };
      const path = d.namespaced ? `/${base}/namespaces/{namespace}/${d.resource}/{name}` : `/${base}/${d.resource}/{name}`;
      docPaths[path] = {
        get: { operationId: `read${d.kind}`, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
        put: { operationId: `replace${d.kind}`, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, parameters: PARAMS },
        patch: { operationId: `patch${d.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, parameters: PARAMS },
        delete: { operationId: `delete${d.kind}`, 'x-kubernetes-action': 'delete', 'x-kubernetes-group-version-kind': gvk },
      };
    }
    const doc = { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4-skiff' }, paths: docPaths, components: { schemas: {} } };
    const body = JSON.stringify(doc);
    const hash = createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase();
    docs.set(base, { body, hash });
    paths[base] = { serverRelativeURL: `/openapi/v3/${base}?hash=${hash}` };
  }
  return { root: { paths }, docs };
}
