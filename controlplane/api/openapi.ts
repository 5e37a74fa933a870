// The OpenAPI the server publishes, built lazily and cached: `/openapi/v3` (the index of
// group versions, each `serverRelativeURL` carrying `?hash=` of its document) and one v3
// document per group version with full components.schemas (controlplane/api/openapi/),
// and `/openapi/v2` (swagger 2.0 JSON, and gnostic protobuf for client-go). The kinds are
// read at the first request (the catalogue plus whatever the caller passes: reviews,
// APIServices, metrics), custom group versions follow the CRD registry's generation.
// Nothing is computed at start-up; a document is generated once and served from memory.
import { createHash } from 'node:crypto';
import type { ResourceDef } from '../resources/types.js';
import { customResourceDefsServed, registryGeneration } from '../crd/registry.js';
import { gvKey, v2Document, v3Documents } from './openapi/build.js';
import { encodeOpenApiV2 } from './openapi/gnostic-pb.js';

export { reverseGroup } from './openapi/names.js';

export interface OpenApiDoc {
  body: string;
  /** upper-case hex SHA-512 of the body: the `?hash=` and the ETag, as kube-openapi's */
  hash: string;
}

export interface OpenApiV2 {
  json: OpenApiDoc;
  protobuf: { body: Uint8Array; hash: string };
}

export interface OpenApiDocs {
  readonly root: unknown;
  /** keyed by 'api/v1' or 'apis/<group>/<version>' */
  docs: { get(key: string): OpenApiDoc | undefined };
  v2(): OpenApiV2;
}

export function etagOf(data: string | Uint8Array): string {
  return createHash('sha512').update(data).digest('hex').toUpperCase();
}

function doc(value: unknown): OpenApiDoc {
  const body = JSON.stringify(value);
  return { body, hash: etagOf(body) };
}

/** kinds: the served kinds (read on first use, so kinds registered later are included) */
export function buildOpenApi(kinds: ResourceDef[] | (() => ResourceDef[])): OpenApiDocs {
  const builtIns = typeof kinds === 'function' ? kinds : () => kinds;
  let builtIn: Map<string, OpenApiDoc> | undefined;
  let cached: { generation: number; docs: Map<string, OpenApiDoc>; root: unknown } | undefined;
  let cachedV2: { generation: number; v2: OpenApiV2 } | undefined;
  const current = () => {
    const generation = registryGeneration();
    if (cached?.generation === generation) return cached;
    if (!builtIn) {
      builtIn = new Map();
      for (const [key, d] of v3Documents(builtIns().filter((k) => !k.custom))) builtIn.set(key, doc(d));
    }
    const docs = new Map(builtIn);
    for (const [key, d] of v3Documents(customResourceDefsServed())) if (!docs.has(key)) docs.set(key, doc(d));
    const paths: Record<string, unknown> = {};
    for (const [key, d] of docs) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${d.hash}` };
    cached = { generation, docs, root: { paths } };
    return cached;
  };
  return {
    get root() {
      return current().root;
    },
    docs: { get: (key: string) => current().docs.get(key) },
    v2() {
      const generation = registryGeneration();
      if (cachedV2?.generation === generation) return cachedV2.v2;
      const builtInKeys = new Set(
        builtIns()
          .filter((k) => !k.custom)
          .map(gvKey),
      );
      const kindsNow = [
        ...builtIns().filter((k) => !k.custom),
        ...customResourceDefsServed().filter((k) => !builtInKeys.has(gvKey(k))),
      ];
      const json = v2Document(kindsNow);
      const pb = encodeOpenApiV2(json);
      cachedV2 = { generation, v2: { json: doc(json), protobuf: { body: pb, hash: etagOf(pb) } } };
      return cachedV2.v2;
    },
  };
}
