// The audit filters of the API server's request lifecycle, in kube-apiserver's order
// (endpoints/filters/audit_init.go, audit.go, failed-authentication audit):
//  - every request gets an Audit-Id (the client's, or a new UUID) as a response header;
//  - after authentication the policy is judged with the authenticated user: the level,
//    RequestReceived (unless omitted);
//  - a long-running request (watch, proxy; attach, exec, log, portforward) logs
//    ResponseStarted when its headers go out;
//  - when the response is done: ResponseComplete, with impersonation and the authorizer's
//    decision (authz/http.ts), the Status of a failure, bodies at Request/RequestResponse;
//  - a request that failed authentication logs one ResponseStarted event with no user.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requestAttributes } from '../authz/attributes.js';
import { withAuthenticatedGroup } from '../authz/authorizer.js';
import { authorizationRecordOf } from '../authz/http.js';
import { decodeBody } from '../api/body.js';
import type { UserInfo } from '../api/auth.js';
import type { Auditor } from './auditor.js';
import {
  DECISION_ANNOTATION,
  REASON_ANNOTATION,
  buildEvent,
  objectRefOf,
  responseStatusOf,
  sourceIPs,
  type AuditFacts,
} from './event.js';
import { evaluatePolicy, levelAtLeast, type AuditAttributes, type AuditStage } from './policy.js';

/** request and response bodies larger than this are left out of the event */
export const AUDIT_BODY_CAP = 1024 * 1024;
const STATUS_PARSE_CAP = 64 * 1024;
const LONG_RUNNING_VERBS = new Set(['watch', 'proxy']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

// microseconds since the epoch, from a monotonic clock anchored once
const anchorUs = Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n);
export const nowUs = (): number => anchorUs + Number(process.hrtime.bigint() / 1000n);

interface RequestAudit {
  id: string;
  res: ServerResponse;
  receivedUs: number;
  facts?: AuditFacts;
  omitStages: AuditStage[];
  failedAuthn: boolean;
  authenticated: boolean;
  longRunning: boolean;
  started: boolean;
  statusBody?: Record<string, unknown>;
  responseJson?: string;
  responseOmitted?: number;
  /** the request as RequestInfo reads it */
  attrs?: ReturnType<typeof requestAttributes>;
}

const audits = new WeakMap<IncomingMessage, RequestAudit>();

/** the Audit-Id of a request (set by the first hook) */
export function auditIdOf(req: FastifyRequest): string | undefined {
  return audits.get(req.raw)?.id;
}

/**
 * The annotations of a request's audit event, for admission plugins to add to (PodSecurity's
 * pod-security.kubernetes.io/*); undefined when the request is not audited.
 */
export function auditAnnotationsOf(req: FastifyRequest): Record<string, string> | undefined {
  return audits.get(req.raw)?.facts?.annotations;
}

export interface AuditHooks {
  /** after authentication: the user (undefined: no credentials on an open path) */
  authenticated(req: FastifyRequest, user: UserInfo | undefined): void;
  /** authentication refused the request (a 401 follows) */
  authenticationFailed(req: FastifyRequest): void;
}

function authMethods(req: FastifyRequest): string {
  const methods: string[] = [];
  const h = (req.headers.authorization ?? '').trim();
  if (/^basic\s+/i.test(h)) methods.push('basic');
  const parts = h.split(' ');
  if (parts.length > 1 && parts[0]!.toLowerCase() === 'bearer') methods.push('bearer');
  const sock = req.raw.socket as { getPeerCertificate?: () => object | null };
  if (typeof sock.getPeerCertificate === 'function') {
    const c = sock.getPeerCertificate();
    if (c && Object.keys(c).length) methods.push('x509');
  }
  return methods.length
    ? `Authentication failed, attempted: ${methods.join(', ')}`
    : 'Authentication failed, no credentials provided';
}

export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** WithAuditInit: the client's Audit-ID when it is a sane token, else a new UUID */
export function auditIdFrom(header: string | string[] | undefined): string {
  const given = firstHeader(header);
  return given && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * Install the audit hooks; call before the authentication hook. Without an auditor only the
 * Audit-Id header is set. `alwaysAllow`: no authorizer runs (--authorization-mode AlwaysAllow),
 * so authenticated requests are annotated as allowed, as kube-apiserver's AlwaysAllow does.
 */
export function installAudit(
  app: FastifyInstance,
  auditor: Auditor | undefined,
  opts: { alwaysAllow: boolean; isPublicPath: (url: string) => boolean },
): AuditHooks {
  app.addHook('onRequest', async (req, reply) => {
    const id = auditIdFrom(req.headers['audit-id']);
    // on the raw response: watches and streams write their own headers (hijacked replies)
    reply.raw.setHeader('Audit-Id', id);
    if (!auditor) return;
    const a: RequestAudit = {
      id,
      res: reply.raw,
      receivedUs: nowUs(),
      omitStages: [],
      failedAuthn: false,
      authenticated: false,
      longRunning: false,
      started: false,
    };
    audits.set(req.raw, a);
    reply.raw.once('close', () => finish(req, reply.raw, a));
  });
  if (!auditor) return { authenticated: () => undefined, authenticationFailed: () => undefined };

  const emit = (a: RequestAudit, stage: AuditStage) => {
    // an omitted stage (RequestReceived under the default policy) is never built
    if (a.facts && !a.omitStages.includes(stage)) auditor.process(buildEvent(a.facts, stage, nowUs()), a.omitStages);
  };

  /** evaluatePolicyAndCreateAuditEvent */
  const begin = (req: FastifyRequest, a: RequestAudit, user: UserInfo | undefined): void => {
    const authn = user ? withAuthenticatedGroup(user) : undefined;
    const attrs = requestAttributes(req.method, req.url, authn ?? { name: '', groups: [] });
    const pa: AuditAttributes = { ...attrs, user: authn };
    const cfg = evaluatePolicy(auditor.policy, pa);
    auditor.observeLevel(cfg.level);
    if (cfg.level === 'None') return;
    a.omitStages = cfg.omitStages;
    a.attrs = attrs;
    a.longRunning =
      LONG_RUNNING_VERBS.has(attrs.verb) || (attrs.resourceRequest && LONG_RUNNING_SUBRESOURCES.has(attrs.subresource));
    a.facts = {
      level: cfg.level,
      auditID: a.id,
      requestURI: req.url,
      verb: attrs.verb,
      user: authn,
      sourceIPs: sourceIPs(
        firstHeader(req.headers['x-forwarded-for']),
        firstHeader(req.headers['x-real-ip']),
        req.raw.socket.remoteAddress,
      ),
      userAgent: firstHeader(req.headers['user-agent']),
      objectRef: attrs.resourceRequest ? objectRefOf(attrs) : undefined,
      receivedUs: a.receivedUs,
      annotations: {},
    };
  };

  app.addHook('onSend', async (req, reply, payload) => {
    const a = audits.get(req.raw);
    if (!a?.facts) return payload;
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload : undefined;
    if (text === undefined) return payload;
    const len = text.length;
    const isJson = /^application\/json\b/.test(String(reply.getHeader('content-type') ?? ''));
    if (
      isJson &&
      len <= STATUS_PARSE_CAP &&
      (reply.statusCode >= 400 || text.slice(0, 16).toString() === '{"kind":"Status"')
    ) {
      try {
        const s: unknown = JSON.parse(text.toString());
        if (typeof s === 'object' && s !== null && (s as { kind?: unknown }).kind === 'Status')
          a.statusBody = s as Record<string, unknown>;
      } catch {
        /* not a Status */
      }
    }
    if (a.facts.level === 'RequestResponse' && isJson) {
      if (len <= AUDIT_BODY_CAP) a.responseJson = text.toString();
      else a.responseOmitted = len;
    }
    return payload;
  });

  /** what impersonation and authorization added (both ran before any response started) */
  const authorized = (req: FastifyRequest, a: RequestAudit) => {
    const f = a.facts!;
    const rec = authorizationRecordOf(req);
    if (rec?.impersonatedUser) f.impersonatedUser = rec.impersonatedUser;
    if (rec?.decision) {
      f.annotations[DECISION_ANNOTATION] = rec.decision.allowed ? 'allow' : 'forbid';
      f.annotations[REASON_ANNOTATION] = rec.decision.reason;
    } else if (opts.alwaysAllow && a.authenticated && !opts.isPublicPath(req.url)) {
      f.annotations[DECISION_ANNOTATION] = 'allow';
      f.annotations[REASON_ANNOTATION] = '';
    }
  };

  const finish = (req: FastifyRequest, res: ServerResponse, a: RequestAudit) => {
    const f = a.facts;
    if (!f) return;
    const code = res.headersSent ? res.statusCode : 200;
    f.responseStatus = res.headersSent
      ? responseStatusOf(code, a.statusBody)
      : responseStatusOf(200, { status: 'Success', message: 'Connection closed early' });
    if (a.failedAuthn) {
      f.responseStatus = responseStatusOf(code, { message: authMethods(req) });
      emit(a, 'ResponseStarted');
      return;
    }
    authorized(req, a);
    const body = req.body;
    const wantsBody = levelAtLeast(f.level, 'Request');
    // a create or update names its object in the body: LogRequestObject completes the
    // ObjectReference from it at every level, and logs the object from Request on
    const completesRef = !!a.attrs?.resourceRequest && (req.method === 'POST' || req.method === 'PUT');
    if (Buffer.isBuffer(body) && body.length > 0 && (wantsBody || completesRef)) {
      if (body.length > AUDIT_BODY_CAP) {
        if (wantsBody)
          f.annotations['audit.skiff.dev/request-object-omitted'] =
            `${body.length} bytes, over the ${AUDIT_BODY_CAP}-byte audit cap`;
      } else {
        let obj: unknown;
        try {
          obj = decodeBody(firstHeader(req.headers['content-type']), body);
        } catch {
          /* not decodable: left out */
        }
        if (wantsBody && obj !== undefined) f.requestObject = obj;
        const meta = typeof obj === 'object' && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
        if (completesRef && a.attrs && typeof meta === 'object' && meta !== null)
          f.objectRef = objectRefOf(a.attrs, meta as Record<string, unknown>);
      }
    }
    if (a.responseJson !== undefined) {
      try {
        f.responseObject = JSON.parse(a.responseJson);
      } catch {
        /* not JSON after all */
      }
    } else if (a.responseOmitted !== undefined)
      f.annotations['audit.skiff.dev/response-object-omitted'] =
        `${a.responseOmitted} bytes, over the ${AUDIT_BODY_CAP}-byte audit cap`;
    if (a.longRunning && !a.started) {
      a.started = true;
      emit(a, 'ResponseStarted');
    }
    emit(a, 'ResponseComplete');
  };

  return {
    authenticated(req, user) {
      const a = audits.get(req.raw);
      if (!a) return;
      a.authenticated = !!user;
      begin(req, a, user);
      if (!a.facts) return;
      emit(a, 'RequestReceived');
      if (a.longRunning) {
        // ResponseStarted when the headers go out (fastify's send and hijacked streams alike)
        const res = a.res;
        const orig = res.writeHead;
        res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
          if (!a.started && a.facts) {
            a.started = true;
            a.facts.responseStatus = responseStatusOf(typeof args[0] === 'number' ? args[0] : res.statusCode);
            authorized(req, a);
            emit(a, 'ResponseStarted');
          }
          return orig.apply(this, args);
        } as ServerResponse['writeHead'];
      }
    },
    authenticationFailed(req) {
      const a = audits.get(req.raw);
      if (!a) return;
      a.failedAuthn = true;
      begin(req, a, undefined);
    },
  };
}
