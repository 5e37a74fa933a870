// The audit Event builder: kube-apiserver's key order and omitempty fields, MicroTime,
// SourceIPs, the bounded Status fields, and which stages and levels carry bodies.
import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  microTime,
  objectRefOf,
  responseStatusOf,
  sourceIPs,
  truncateUserAgent,
  type AuditFacts,
} from '../../controlplane/audit/event.js';

const T0 = Date.parse('2026-12-05T07:25:44.123Z') * 1000 + 456;

const facts = (o: Partial<AuditFacts> = {}): AuditFacts => ({
  level: 'Metadata',
  auditID: 'id-1',
  requestURI: '/api/v1/namespaces/demo/pods/p?x=1',
  verb: 'get',
  user: { name: 'alice', uid: 'u1', groups: ['dev', 'system:authenticated'] },
  sourceIPs: ['127.0.0.1'],
  userAgent: 'kubectl/v1.32.4',
  objectRef: objectRefOf({
    resource: 'pods',
    namespace: 'demo',
    name: 'p',
    apiGroup: '',
    apiVersion: 'v1',
    subresource: '',
  }),
  receivedUs: T0,
  annotations: {},
  ...o,
});

describe('audit Event', () => {
  it('MicroTime: UTC, six fractional digits', () => {
    expect(microTime(T0)).toBe('2026-12-05T07:25:44.123456Z');
    expect(microTime(Date.parse('2026-01-01T00:00:00Z') * 1000 + 7)).toBe('2026-01-01T00:00:00.000007Z');
  });

  it('SourceIPs: X-Forwarded-For, X-Real-Ip, then the peer unless it is the last already', () => {
    expect(sourceIPs(undefined, undefined, '::ffff:127.0.0.1')).toEqual(['127.0.0.1']);
    expect(sourceIPs('10.0.0.1, junk, 10.0.0.2', '10.0.0.3', '192.168.1.1')).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
      '192.168.1.1',
    ]);
    expect(sourceIPs('10.0.0.1', '10.0.0.1', '10.0.0.1')).toEqual(['10.0.0.1']);
    expect(sourceIPs(undefined, undefined, '::1')).toEqual(['::1']);
  });

  it('a ResponseComplete at Metadata: the fields kube-apiserver writes, in its order', () => {
    const ev = buildEvent(
      facts({
        responseStatus: responseStatusOf(403, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'm',
          reason: 'Forbidden',
          details: { name: 'p', kind: 'pods' },
          code: 403,
        }),
        impersonatedUser: { name: 'bob', groups: ['system:authenticated'] },
        annotations: { 'authorization.k8s.io/reason': '', 'authorization.k8s.io/decision': 'forbid' },
        requestObject: { a: 1 },
        responseObject: { b: 2 },
      }),
      'ResponseComplete',
      T0 + 1500,
    );
    expect(JSON.stringify(ev)).toBe(
      JSON.stringify({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'Metadata',
        auditID: 'id-1',
        stage: 'ResponseComplete',
        requestURI: '/api/v1/namespaces/demo/pods/p?x=1',
        verb: 'get',
        user: { username: 'alice', uid: 'u1', groups: ['dev', 'system:authenticated'] },
        impersonatedUser: { username: 'bob', groups: ['system:authenticated'] },
        sourceIPs: ['127.0.0.1'],
        userAgent: 'kubectl/v1.32.4',
        objectRef: { resource: 'pods', namespace: 'demo', name: 'p', apiVersion: 'v1' },
        responseStatus: {
          metadata: {},
          status: 'Failure',
          message: 'm',
          reason: 'Forbidden',
          details: { name: 'p', kind: 'pods' },
          code: 403,
        },
        requestReceivedTimestamp: '2026-12-05T07:25:44.123456Z',
        stageTimestamp: '2026-12-05T07:25:44.124956Z',
        annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
      }),
    );
  });

  it('bodies only at their levels; RequestReceived has neither bodies nor a status', () => {
    const f = facts({ responseStatus: responseStatusOf(200), requestObject: { a: 1 }, responseObject: { b: 2 } });
    const at = (level: AuditFacts['level'], stage: Parameters<typeof buildEvent>[1]) =>
      buildEvent({ ...f, level }, stage, T0 + 10);
    expect(at('Request', 'ResponseComplete')).toMatchObject({ requestObject: { a: 1 } });
    expect(at('Request', 'ResponseComplete').responseObject).toBeUndefined();
    expect(at('RequestResponse', 'ResponseComplete')).toMatchObject({
      requestObject: { a: 1 },
      responseObject: { b: 2 },
    });
    expect(at('RequestResponse', 'ResponseStarted').responseObject).toBeUndefined();
    const rr = at('RequestResponse', 'RequestReceived');
    expect(rr.requestObject).toBeUndefined();
    expect(rr.responseStatus).toBeUndefined();
    expect(rr.stageTimestamp).toBe(rr.requestReceivedTimestamp);
  });

  it('a non-resource request has no objectRef; an unauthenticated one an empty user', () => {
    const ev = buildEvent(
      facts({ user: undefined, objectRef: undefined, requestURI: '/version', userAgent: undefined, sourceIPs: [] }),
      'ResponseStarted',
      T0,
    );
    expect(ev.user).toEqual({});
    expect('objectRef' in ev || 'userAgent' in ev || 'sourceIPs' in ev).toBe(false);
  });

  it('a success keeps only the code; long user agents are truncated as kube-apiserver does', () => {
    expect(responseStatusOf(200)).toEqual({ metadata: {}, code: 200 });
    expect(truncateUserAgent('a'.repeat(2000))).toBe(`${'a'.repeat(1024)}...TRUNCATED`);
  });
});
