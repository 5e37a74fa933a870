// Audit of the upgraded requests that bypass fastify (kubectl exec, attach, port-forward:
// controlplane/agents/upgrade-guard.ts). They are long-running, as kube-apiserver counts
// them: ResponseStarted when the status line goes out (101, or the refusal), then
// ResponseComplete when the connection closes. Wraps the guard's authorize callback, which
// runs once the user is authenticated.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UserInfo } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { requestAttributes } from '../authz/attributes.js';
import { withAuthenticatedGroup } from '../authz/authorizer.js';
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
import { auditIdFrom, firstHeader, nowUs } from './hooks.js';
import { evaluatePolicy, type AuditStage } from './policy.js';

/** the status code and Status body at the head of a raw HTTP response */
export function parseResponseHead(chunk: string): { code: number; status?: Record<string, unknown> } | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk);
  if (!m) return undefined;
  const code = Number(m[1]);
  const i = chunk.indexOf('\r\n\r\n');
  if (code < 400 || i < 0) return { code };
  try {
    const s: unknown = JSON.parse(chunk.slice(i + 4));
    if (typeof s === 'object' && s !== null && (s as { kind?: unknown }).kind === 'Status')
      return { code, status: s as Record<string, unknown> };
  } catch {
    /* no Status body */
  }
  return { code };
}

type Authorize = (req: IncomingMessage, user: UserInfo) => UserInfo | void;

/**
 * The upgrade guard's authorize callback with the audit around it. `authorize` (RBAC;
 * absent with AlwaysAllow) throws the 403 and returns the user the request acts as.
 */
export function auditUpgrades(
  auditor: Auditor | undefined,
  authorize: Authorize | undefined,
): ((req: IncomingMessage, user: UserInfo) => void) | undefined {
  if (!auditor)
    return authorize
      ? (req, user) => {
          authorize(req, user);
        }
      : undefined;
  return (req, user) => {
    const receivedUs = nowUs();
    const authn = withAuthenticatedGroup(user);
    const attrs = requestAttributes(req.method ?? 'GET', req.url ?? '', authn);
    const cfg = evaluatePolicy(auditor.policy, { ...attrs, user: authn });
    auditor.observeLevel(cfg.level);
    if (cfg.level === 'None') {
      authorize?.(req, user);
      return;
    }
    const f: AuditFacts = {
      level: cfg.level,
      auditID: auditIdFrom(req.headers['audit-id']),
      requestURI: req.url ?? '',
      verb: attrs.verb,
      user: authn,
      sourceIPs: sourceIPs(
        firstHeader(req.headers['x-forwarded-for']),
        firstHeader(req.headers['x-real-ip']),
        req.socket.remoteAddress,
      ),
      userAgent: firstHeader(req.headers['user-agent']),
      objectRef: attrs.resourceRequest ? objectRefOf(attrs) : undefined,
      receivedUs,
      annotations: {},
    };
    const emit = (stage: AuditStage) => auditor.process(buildEvent(f, stage, nowUs()), cfg.omitStages);
    emit('RequestReceived');
    // the first bytes written are the status line: the 101 of the upgrade or a refusal
    const sock: Duplex = req.socket;
    let started = false;
    const peek = (chunk: unknown) => {
      if (started) return;
      started = true;
      const head = parseResponseHead(
        typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.subarray(0, 64 * 1024).toString() : '',
      );
      f.responseStatus = responseStatusOf(head?.code ?? 101, head?.status);
      emit('ResponseStarted');
    };
    const write = sock.write;
    const end = sock.end;
    sock.write = function (this: Duplex, ...args: Parameters<Duplex['write']>) {
      peek(args[0]);
      return write.apply(this, args);
    } as Duplex['write'];
    sock.end = function (this: Duplex, ...args: Parameters<Duplex['end']>) {
      if (args[0] !== undefined && typeof args[0] !== 'function') peek(args[0]);
      return end.apply(this, args);
    } as Duplex['end'];
    sock.once('close', () => {
      if (!started) {
        started = true;
        f.responseStatus = responseStatusOf(200, { status: 'Success', message: 'Connection closed early' });
        emit('ResponseStarted');
      }
      emit('ResponseComplete');
    });
    const impersonating = Object.keys(req.headers).some((h) => h.startsWith('impersonate-'));
    try {
      const acting = authorize?.(req, user);
      if (acting && impersonating) f.impersonatedUser = acting;
      f.annotations[DECISION_ANNOTATION] = 'allow';
      f.annotations[REASON_ANNOTATION] = '';
    } catch (e) {
      // a refused impersonation is not the authorizer's decision on the request (no annotation)
      if (e instanceof ApiError && e.code === 403 && !/ cannot impersonate /.test(e.message)) {
        f.annotations[DECISION_ANNOTATION] = 'forbid';
        f.annotations[REASON_ANNOTATION] = '';
      }
      throw e;
    }
  };
}
