// The OpenAPI endpoints with kube-openapi's HTTP behaviour: content negotiation (JSON, or
// gnostic protobuf for v2; anything else 406), `ETag` (quoted upper-case SHA-512 of the
// body), 304 on a matching If-None-Match, and for a v3 document fetched with the current
// `?hash=` the immutable caching headers (`Cache-Control: public, immutable`, `Expires`
// one year ahead, `Vary: Accept`); a stale hash is redirected (301) to the current URL.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { OpenApiDocs } from '../openapi.js';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** what kube-openapi answers with: '@' is not a token character, and client-go's mime.ParseMediaType refuses it */
export const OPENAPI_V2_PROTOBUF_RETURNED = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const OPENAPI_V2_PROTOBUF_LEGACY = OPENAPI_V2_PROTOBUF_RETURNED;

/** which representation an Accept header asks for first: 'json', 'protobuf' (v2 only) or undefined (406) */
export function negotiate(accept: string | undefined, protobufOk: boolean): 'json' | 'protobuf' | undefined {
  if (!accept) return 'json';
  const clauses = accept
    .split(',')
    .map((c, i) => {
      const [type, ...params] = c
        .trim()
        .split(';')
        .map((x) => x.trim());
      const qp = params.find((p) => p.startsWith('q='));
      return { type: (type ?? '').toLowerCase(), q: qp ? Number(qp.slice(2)) : 1, i };
    })
    .filter((c) => c.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const c of clauses) {
    if (protobufOk && (c.type === OPENAPI_V2_PROTOBUF || c.type === OPENAPI_V2_PROTOBUF_LEGACY)) return 'protobuf';
    if (c.type === 'application/json' || c.type === 'application/*' || c.type === '*/*') return 'json';
  }
  return undefined;
}

const notAcceptable = (): ApiError =>
  new ApiError(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
    {},
  );
const notFound = (): ApiError => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

function matches(req: FastifyRequest, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  if (!inm) return false;
  return inm.split(',').some((t) => {
    const x = t.trim().replace(/^W\//, '');
    return x === '*' || x === etag;
  });
}

function send(
  req: FastifyRequest,
  reply: FastifyReply,
  type: string,
  hash: string,
  body: string | Uint8Array,
): FastifyReply {
  const etag = `"${hash}"`;
  reply.header('ETag', etag);
  if (matches(req, etag)) return reply.code(304).send();
  return reply
    .type(type)
    .send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

export function registerOpenApiRoutes(app: FastifyInstance, openapi: OpenApiDocs): void {
  app.get('/openapi/v3', async (req, reply) => {
    if (!negotiate(req.headers.accept, false)) throw notAcceptable();
    return reply.type('application/json').send(JSON.stringify(openapi.root));
  });
  app.get('/openapi/v3/*', async (req, reply) => {
    const key = (req.params as { '*': string })['*'];
    const doc = openapi.docs.get(key);
    if (!doc) throw notFound();
    if (!negotiate(req.headers.accept, false)) throw notAcceptable();
    const hash = (req.query as { hash?: unknown }).hash;
    if (typeof hash === 'string' && hash !== '') {
      if (hash !== doc.hash) return reply.redirect(`/openapi/v3/${key}?hash=${doc.hash}`, 301);
      reply.header('Vary', 'Accept');
      reply.header('Cache-Control', 'public, immutable');
      reply.header('Expires', new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString());
    }
    return send(req, reply, 'application/json', doc.hash, doc.body);
  });
  app.get('/openapi/v2', async (req, reply) => {
    const want = negotiate(req.headers.accept, true);
    if (!want) throw notAcceptable();
    const v2 = openapi.v2();
    reply.header('Vary', 'Accept');
    if (want === 'protobuf') return send(req, reply, OPENAPI_V2_PROTOBUF_RETURNED, v2.protobuf.hash, v2.protobuf.body);
    return send(req, reply, 'application/json', v2.json.hash, v2.json.body);
  });
}
