// The API server: fastify with Kubernetes' REST dialect. Authentication at the edge,
// one error handler that answers with Status objects, discovery and OpenAPI for
// kubectl, then the resource routes over ApiStorage.
// Map of the code base: ARCHITECTURE.md, "The flow of one pod".
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { Logger } from 'pino';
import { convertedVersions, resources } from '../resources/index.js';
import { type TokenAuthenticator, isPublicPath, type UserInfo } from './auth.js';
import { registerDashboardRoutes } from './dashboard.js';
import {
  AGGREGATED_CONTENT_TYPE,
  AGGREGATED_V2BETA1_CONTENT_TYPE,
  VERSION_INFO,
  aggregatedDiscovery,
  legacyApiVersions,
  legacyGroup,
  legacyGroupList,
  resourceList,
  wantsAggregated,
} from './discovery.js';
import { ApiError, badRequest, internal, unauthorized } from './errors.js';
import { buildOpenApi } from './openapi.js';
import { registerOpenApiRoutes } from './openapi/routes.js';
import { registerResourceRoutes, type RestDeps } from './rest-handlers.js';
import { ListCache } from './list-cache.js';
import type { ApiStorage } from './storage.js';
import type { PodStreams } from './subresources.js';
import { verbOf, type ServerMetrics } from '../metrics.js';
import {
  DEFAULT_EDGE_LIMITS,
  hasBody,
  installHttpEdge,
  tlsServerOptions,
  type HttpEdge,
  type HttpEdgeLimits,
} from './http-edge.js';
import { METRICS_RESOURCES, registerMetricsRoutes, type MetricsStore } from './metrics-api.js';
import type { RbacAuthorizer } from '../authz/authorizer.js';
import { REVIEW_RESOURCES, installAuthorization, registerReviewRoutes } from '../authz/http.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';
import { registerServiceAccountRoutes } from '../serviceaccount/routes.js';
import { TOKEN_REVIEW_RESOURCE, registerTokenReviewRoutes } from '../authz/token-review.js';
import { API_SERVICE_RESOURCE, registerApiServiceRoutes } from './apiservices.js';
import type { Auditor } from '../audit/auditor.js';
import { installAudit } from '../audit/hooks.js';
import { queryBool } from '../../proto/query-bool.js';

export interface ApiServerOptions {
  storage: ApiStorage;
  auth: TokenAuthenticator;
  logger: Logger | false;
  https?: { key: string; cert: string };
  /** the address kubectl is told about in legacy /api */
  advertise?: string;
  caPem?: string;
  streams?: PodStreams;
  /** max request body, bytes (kube-apiserver: 3 MiB) */
  bodyLimit?: number;
  ready?: () => boolean;
  admitEviction?: RestDeps['admitEviction'];
  metrics?: ServerMetrics;
  /** usage reported by agents, served as metrics.k8s.io for kubectl top */
  usage?: MetricsStore;
  /** refresh gauges just before /metrics is served */
  beforeScrape?: () => Promise<void>;
  /** time-outs and connection caps of the port (http-edge.ts) */
  edgeLimits?: Partial<HttpEdgeLimits>;
  /** RBAC on every request (controlplane/authz); absent: every authenticated user may do anything */
  authorizer?: RbacAuthorizer;
  /** ServiceAccount tokens: the TokenRequest subresource and the OIDC discovery documents (controlplane/serviceaccount) */
  serviceAccounts?: { tokens: ServiceAccountTokens; apiUrl: () => string };
  /** the audit log (--audit-log-path): events for every request (controlplane/audit) */
  audit?: Auditor;
  /** --anonymous-auth: requests without credentials act as system:anonymous and RBAC decides (default: 401) */
  anonymous?: boolean;
  /** the built dashboard's static files (default: dist/dashboard; api/dashboard.ts) */
  dashboardDir?: string;
}

/** kube-apiserver's anonymous user (authenticator/anonymous) */
export const ANONYMOUS_USER: UserInfo = Object.freeze({
  name: 'system:anonymous',
  groups: Object.freeze(['system:unauthenticated']) as string[],
});

/**
 * Did the request present credentials? A bearer token (non-empty, as bearertoken.go reads
 * it) or a client certificate. Presented but not accepted is a 401 even with anonymous
 * access on (kube-apiserver's union.NewFailOnError in front of the anonymous authenticator).
 */
export function presentsCredentials(req: Pick<FastifyRequest, 'headers' | 'raw'>): boolean {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const parts = h.trim().split(' ');
    if (parts.length >= 2 && parts[0]!.toLowerCase() === 'bearer' && parts[1] !== '') return true;
  }
  const sock = req.raw.socket as { getPeerCertificate?: () => object | null } | undefined;
  if (typeof sock?.getPeerCertificate === 'function') {
    const c = sock.getPeerCertificate();
    if (c && Object.keys(c).length) return true;
  }
  return false;
}

const edges = new WeakMap<FastifyInstance, HttpEdge>();
/** the connection-level defences of a server built here */
export function httpEdgeOf(app: FastifyInstance): HttpEdge | undefined {
  return edges.get(app);
}

export async function buildApiServer(o: ApiServerOptions): Promise<FastifyInstance> {
  const bodyLimit = o.bodyLimit ?? 3 * 1024 * 1024;
  let edge: HttpEdge | undefined;
  const fopts: FastifyServerOptions & { https?: unknown; loggerInstance?: unknown; routerOptions?: unknown } = {
    // request lines are info-level: keep them out of the log unless debugging
    ...(o.logger === false
      ? { logger: false }
      : { loggerInstance: o.logger.child({}, { level: o.logger.isLevelEnabled('debug') ? o.logger.level : 'warn' }) }),
    bodyLimit,
    // time-outs: installHttpEdge (watches and log streams have no body and are not cut)
    routerOptions: { maxParamLength: 1024 },
    return503OnClosing: true,
    // a path that does not decode (%ZZ) or is too long fails in the router, before the
    // hooks: authenticate here too, and answer with a Status
    frameworkErrors: (err: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply) => {
      let e: ApiError;
      const user = o.auth.authenticate(req);
      if (!user && !(o.anonymous && !presentsCredentials(req))) {
        e = unauthorized();
        reply.header('WWW-Authenticate', 'Bearer');
      } else {
        if (user) edge?.authenticated(req.raw.socket);
        e =
          err.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? new ApiError(414, 'RequestURITooLong', 'a path segment of the request is too long')
            : badRequest('the request path is not a valid URL (bad percent-escape)');
      }
      if (hasBody(req.raw)) reply.header('Connection', 'close');
      reply.code(e.code).type('application/json').send(e.body());
    },
  };
  const limits: HttpEdgeLimits = { ...DEFAULT_EDGE_LIMITS, ...o.edgeLimits };
  if (o.https) fopts.https = tlsServerOptions(o.https.key, o.https.cert, limits);
  const app = Fastify(fopts as FastifyServerOptions);
  edge = installHttpEdge(app.server, !!o.https, limits, bodyLimit);
  edges.set(app, edge);

  // Bodies are parsed per Content-Type in the handlers (JSON, YAML, patch types, protobuf).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  // Audit-Id and the audit log's events (controlplane/audit/hooks.ts): before authentication
  const audit = installAudit(app, o.audit, { alwaysAllow: !o.authorizer, isPublicPath });
  app.addHook('onRequest', async (req, reply) => {
    let user = o.auth.authenticate(req);
    if (user) edge?.authenticated(req.raw.socket);
    // anonymous requests stay counted against the per-address cap of unauthenticated connections
    else if (o.anonymous && !presentsCredentials(req)) user = { ...ANONYMOUS_USER, groups: [...ANONYMOUS_USER.groups] };
    if (user) {
      (req as unknown as { user: unknown }).user = user;
      audit.authenticated(req, user);
      return;
    }
    if (isPublicPath(req.url)) {
      audit.authenticated(req, undefined);
      return;
    }
    audit.authenticationFailed(req);
    // the body of a refused request is never read: close rather than drain it
    if (hasBody(req.raw)) reply.header('Connection', 'close');
    throw unauthorized();
  });
  // authorization (and impersonation) after authentication: controlplane/authz/http.ts
  if (o.authorizer) installAuthorization(app, o.authorizer);

  if (o.metrics) {
    const m = o.metrics;
    const RES = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)\/(?:namespaces\/[^/]+\/)?([^/?]+)(?:\/([^/?]+))?(?:\/([^/?]+))?/;
    app.addHook('onResponse', async (req, reply) => {
      const path = req.url.split('?')[0]!;
      const r = RES.exec(path);
      const resource = r
        ? path.startsWith('/api/v1/namespaces/') && !r[2] && path.split('/').length === 5
          ? 'namespaces'
          : r[1]!
        : '';
      const named = !!r?.[2];
      const q = req.query as Record<string, unknown>;
      const verb = verbOf(req.method, named, queryBool(typeof q?.watch === 'string' ? q.watch : undefined));
      m.requests.inc({ verb, resource, subresource: r?.[3] ?? '', code: String(reply.statusCode) });
      if (verb !== 'WATCH') m.latency.observe({ verb, resource }, reply.elapsedTime / 1000);
    });
  }

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      e = new ApiError(413, 'RequestEntityTooLarge', `the request body is too large (limit ${bodyLimit} bytes)`);
    else if ((err as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      e = new ApiError(415, 'UnsupportedMediaType', err.message);
    else if (typeof err.statusCode === 'number' && err.statusCode < 500) {
      const code = err.statusCode;
      e = new ApiError(code, code === 404 ? 'NotFound' : 'BadRequest', err.message);
    } else {
      req.log.error({ err, url: req.url, method: req.method }, 'internal error');
      e = internal('an unexpected error occurred');
    }
    if (e.code === 401) reply.header('WWW-Authenticate', 'Bearer');
    if (e.headers) for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
    if (e.details?.retryAfterSeconds) reply.header('Retry-After', String(e.details.retryAfterSeconds));
    if (reply.sent || reply.raw.headersSent) return;
    // answered before the whole body came in (401, 413, …): do not wait for the rest
    if (!req.raw.complete) reply.header('Connection', 'close');
    reply.code(e.code).type('application/json').send(e.body());
  });

  app.setNotFoundHandler((_req, reply) => {
    reply
      .code(404)
      .type('application/json')
      .send(new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}).body());
  });

  const ok = (_req: unknown, reply: { type(t: string): { send(b: string): void } }) =>
    reply.type('text/plain').send('ok');
  app.get('/healthz', ok);
  app.get('/livez', ok);
  app.get('/readyz', async (_req, reply) => {
    if (o.ready && !o.ready()) return reply.code(503).type('text/plain').send('not ready');
    return reply.type('text/plain').send('ok');
  });
  app.get('/version', async () => VERSION_INFO);
  if (o.metrics) {
    const m = o.metrics;
    app.get('/metrics', async (_req, reply) => {
      await o.beforeScrape?.();
      return reply.type(m.registry.contentType).send(await m.registry.metrics());
    });
  }
  if (o.caPem) app.get('/cacerts', async (_req, reply) => reply.type('text/plain').send(o.caPem));

  // OpenAPI publishes every discoverable kind (read at the first request; TokenReview too,
  // so that `kubectl create -f` validates it server-side)
  const openapi = buildOpenApi(() => discoverable);
  // discovery lists the stored kinds and, when agents report usage, the metrics API
  let discoverable = o.usage ? [...resources, ...METRICS_RESOURCES] : resources;
  if (o.authorizer) discoverable = [...discoverable, ...REVIEW_RESOURCES];
  discoverable = [...discoverable, ...convertedVersions, TOKEN_REVIEW_RESOURCE, API_SERVICE_RESOURCE];
  app.get('/api', async (req, reply) => {
    const agg = wantsAggregated(req.headers.accept);
    if (agg)
      return reply
        .type(agg === 'v2' ? AGGREGATED_CONTENT_TYPE : AGGREGATED_V2BETA1_CONTENT_TYPE)
        .send(JSON.stringify(aggregatedDiscovery(discoverable, true, agg)));
    return legacyApiVersions(o.advertise ?? `${req.hostname}`);
  });
  app.get('/apis', async (req, reply) => {
    const agg = wantsAggregated(req.headers.accept);
    if (agg)
      return reply
        .type(agg === 'v2' ? AGGREGATED_CONTENT_TYPE : AGGREGATED_V2BETA1_CONTENT_TYPE)
        .send(JSON.stringify(aggregatedDiscovery(discoverable, false, agg)));
    return legacyGroupList(discoverable);
  });
  app.get('/api/v1', async () => resourceList(discoverable, '', 'v1'));
  app.get('/apis/:group', async (req) => {
    const g = legacyGroup(discoverable, (req.params as { group: string }).group);
    if (!g) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    return g;
  });
  app.get('/apis/:group/:version', async (req) => {
    const p = req.params as { group: string; version: string };
    const l = resourceList(discoverable, p.group, p.version);
    if (!l) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    return l;
  });
  registerOpenApiRoutes(app, openapi);
  // the web dashboard's static files, public (auth.ts); its data calls are API requests
  registerDashboardRoutes(app, o.dashboardDir);

  if (o.usage) registerMetricsRoutes(app, o.storage, o.usage);
  const watchMetrics = o.metrics
    ? { watchOpened: () => o.metrics!.watches.inc(), watchClosed: () => o.metrics!.watches.dec() }
    : undefined;
  if (o.authorizer) registerReviewRoutes(app, o.authorizer);
  registerTokenReviewRoutes(app, { auth: o.auth, serviceAccounts: o.serviceAccounts?.tokens });
  registerApiServiceRoutes(app, () => discoverable);
  if (o.serviceAccounts) registerServiceAccountRoutes(app, { storage: o.storage, ...o.serviceAccounts });
  const listCache = new ListCache(o.storage);
  o.storage.listCache = listCache; // in-process lists too (agents' pods, informers)
  app.addHook('onClose', async () => {
    if (o.storage.listCache === listCache) o.storage.listCache = undefined;
    listCache.close();
  });
  registerResourceRoutes(app, {
    storage: o.storage,
    streams: o.streams,
    admitEviction: o.admitEviction,
    metrics: watchMetrics,
    authorizer: o.authorizer,
    listCache,
  });
  return app;
}
