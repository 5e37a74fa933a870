// The audit.k8s.io/v1 Event of one request at one stage, shaped field for field as
// kube-apiserver writes it (apis/audit/v1/types.go; audit/request.go NewEventFromRequest,
// LogResponseObject; endpoints/filters/audit.go). Pure: the hooks (hooks.ts) gather the
// facts, this file orders them into the JSON users' tools parse.
import { levelAtLeast, type AuditLevel, type AuditStage } from './policy.js';

/** authentication/v1 UserInfo as audit prints it */
export interface AuditUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AuditObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

export interface AuditResponseStatus {
  metadata: Record<string, never>;
  status?: string;
  message?: string;
  reason?: string;
  details?: unknown;
  /** last, as metav1.Status orders it (set by responseStatusOf) */
  code?: number;
}

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: AuditLevel;
  auditID: string;
  stage: AuditStage;
  requestURI: string;
  verb: string;
  user: AuditUserInfo;
  impersonatedUser?: AuditUserInfo;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: AuditObjectRef;
  responseStatus?: AuditResponseStatus;
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

/** what is known about a request when one of its stages is logged */
export interface AuditFacts {
  level: AuditLevel;
  auditID: string;
  requestURI: string;
  verb: string;
  user?: { name: string; uid?: string; groups: string[]; extra?: Record<string, string[]> };
  impersonatedUser?: { name: string; uid?: string; groups: string[]; extra?: Record<string, string[]> };
  sourceIPs: string[];
  userAgent?: string;
  /** resource requests only */
  objectRef?: AuditObjectRef;
  responseStatus?: AuditResponseStatus;
  requestObject?: unknown;
  responseObject?: unknown;
  /** microseconds since the epoch */
  receivedUs: number;
  annotations: Record<string, string>;
}

export const DECISION_ANNOTATION = 'authorization.k8s.io/decision';
export const REASON_ANNOTATION = 'authorization.k8s.io/reason';
const MAX_USER_AGENT = 1024;

/** metav1.MicroTime: RFC 3339 in UTC with six fractional digits (the date part cached per second) */
let cachedSecond = -1;
let cachedPrefix = '';
export function microTime(us: number): string {
  const sec = Math.floor(us / 1_000_000);
  if (sec !== cachedSecond) {
    cachedSecond = sec;
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 19); // 2026-12-05T07:25:44
  }
  return `${cachedPrefix}.${String(Math.floor(us) - sec * 1_000_000).padStart(6, '0')}Z`;
}

/** maybeTruncateUserAgent */
export function truncateUserAgent(ua: string | undefined): string | undefined {
  if (!ua) return undefined;
  return ua.length > MAX_USER_AGENT ? `${ua.slice(0, MAX_USER_AGENT)}...TRUNCATED` : ua;
}

function canonicalIp(ip: string): string | undefined {
  const s = ip.trim().replace(/^\[|\]$/g, '');
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (v4) return v4[1];
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (s.includes(':') && /^[0-9a-f:.]+$/i.test(s))) return s.toLowerCase();
  return undefined;
}

/** utilnet.SourceIPs: X-Forwarded-For, then X-Real-Ip, then the peer (not repeated) */
export function sourceIPs(
  forwardedFor: string | undefined,
  realIp: string | undefined,
  remote: string | undefined,
): string[] {
  const out: string[] = [];
  if (forwardedFor)
    for (const p of forwardedFor.split(',')) {
      const ip = canonicalIp(p);
      if (ip) out.push(ip);
    }
  const real = realIp ? canonicalIp(realIp) : undefined;
  if (real && !out.includes(real)) out.push(real);
  const peer = remote ? canonicalIp(remote) : undefined;
  if (peer && (!out.length || out[out.length - 1] !== peer)) out.push(peer);
  return out;
}

export function auditUser(u: AuditFacts['user']): AuditUserInfo {
  if (!u) return {};
  const o: AuditUserInfo = { username: u.name };
  if (u.uid) o.uid = u.uid;
  if (u.groups.length) o.groups = u.groups;
  if (u.extra && Object.keys(u.extra).length) o.extra = u.extra;
  return o;
}

/** the bounded fields of a Status body (LogResponseObject), or just the code */
export function responseStatusOf(code: number, status?: Record<string, unknown>): AuditResponseStatus {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const s = status ?? {};
  const r: AuditResponseStatus = { metadata: {} };
  if (str(s.status)) r.status = str(s.status);
  if (str(s.message)) r.message = str(s.message);
  if (str(s.reason)) r.reason = str(s.reason);
  if (s.details !== undefined && s.details !== null) r.details = s.details;
  r.code = code;
  return r;
}

function sortedAnnotations(a: Record<string, string>): Record<string, string> | undefined {
  const keys = Object.keys(a);
  if (!keys.length) return undefined;
  const o: Record<string, string> = {};
  for (const k of keys.sort()) o[k] = a[k]!;
  return o;
}

/** one Event, keys in kube-apiserver's order; bodies only at the levels that carry them */
export function buildEvent(f: AuditFacts, stage: AuditStage, stageUs: number): AuditEvent {
  const ua = truncateUserAgent(f.userAgent);
  const ann = sortedAnnotations(f.annotations);
  const bodies = stage !== 'RequestReceived';
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: f.level,
    auditID: f.auditID,
    stage,
    requestURI: f.requestURI,
    verb: f.verb,
    user: auditUser(f.user),
    ...(f.impersonatedUser ? { impersonatedUser: auditUser(f.impersonatedUser) } : {}),
    ...(f.sourceIPs.length ? { sourceIPs: f.sourceIPs } : {}),
    ...(ua ? { userAgent: ua } : {}),
    ...(f.objectRef ? { objectRef: f.objectRef } : {}),
    ...(f.responseStatus && bodies ? { responseStatus: f.responseStatus } : {}),
    ...(f.requestObject !== undefined && bodies && levelAtLeast(f.level, 'Request')
      ? { requestObject: f.requestObject }
      : {}),
    ...(f.responseObject !== undefined && stage === 'ResponseComplete' && f.level === 'RequestResponse'
      ? { responseObject: f.responseObject }
      : {}),
    requestReceivedTimestamp: microTime(f.receivedUs),
    stageTimestamp: microTime(stage === 'RequestReceived' ? f.receivedUs : stageUs),
    ...(ann ? { annotations: ann } : {}),
  };
}

/**
 * ObjectReference from request attributes (resource requests only), completed from the
 * object of a create or update as LogRequestObject does (name, namespace, uid, resourceVersion).
 */
export function objectRefOf(
  a: { resource: string; namespace: string; name: string; apiGroup: string; apiVersion: string; subresource: string },
  obj?: { namespace?: unknown; name?: unknown; uid?: unknown; resourceVersion?: unknown },
): AuditObjectRef {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const r: AuditObjectRef = {};
  if (a.resource) r.resource = a.resource;
  const ns = a.namespace || str(obj?.namespace);
  if (ns) r.namespace = ns;
  const name = a.name || str(obj?.name);
  if (name) r.name = name;
  if (str(obj?.uid)) r.uid = str(obj?.uid);
  if (a.apiGroup) r.apiGroup = a.apiGroup;
  if (a.apiVersion) r.apiVersion = a.apiVersion;
  if (str(obj?.resourceVersion)) r.resourceVersion = str(obj?.resourceVersion);
  if (a.subresource) r.subresource = a.subresource;
  return r;
}
