// Upgrades on the API port go through one guard (issue 10 items 1 and 2): a request
// target that does not parse, or a bad percent-escape in an exec/attach/port-forward
// path, used to throw inside the `upgrade` listener and kill the process. Now: 401
// before anything is parsed when unauthenticated, 400 Status when authenticated, the
// socket closed, the server alive. Plain requests whose path does not decode fail in
// fastify's router, before the hooks: they get the same 401-then-400 Status answers.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEdgeOf } from '../../controlplane/api/server.js';
import { AgentGateway } from '../../controlplane/agents/gateway.js';
import { PodStreamRelay } from '../../controlplane/agents/pod-streams.js';
import { checkUpgradeTarget, installUpgradeGuard } from '../../controlplane/agents/upgrade-guard.js';
import { PROTOCOL_PATH } from '../../proto/agent-protocol.js';
import { bodyOf, rawExchange, startEdgeServer, TOKEN, type EdgeServer } from './http-edge-fixtures.js';

const upgrade = (target: string, token?: string) =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`;

describe('upgrade guard', () => {
  let s: EdgeServer;
  const errors: string[] = [];
  beforeAll(async () => {
    s = await startEdgeServer();
    const log = pino({ level: 'silent' });
    const gateway = new AgentGateway({ storage: s.storage, joinSecret: 'join-secret', log });
    const relay = new PodStreamRelay(gateway, s.storage, s.auth, log);
    const throwing = {
      handleUpgrade: (req: { url?: string }) => {
        if (req.url?.startsWith('/throw')) throw new Error('handler bug');
        return false;
      },
    };
    installUpgradeGuard(s.app.server, {
      auth: s.auth,
      edge: httpEdgeOf(s.app),
      log: {
        error: (o: { err?: Error }) => {
          errors.push(String(o.err?.message));
        },
        warn: () => undefined,
      } as never,
      selfAuthenticating: [{ path: PROTOCOL_PATH, handler: gateway }],
      handlers: [throwing, relay],
    });
  });
  afterAll(async () => {
    await s.close();
  });

  const alive = async () => {
    const r = await rawExchange(s, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
  };

  it.each(['//[', 'http://[::1', '/api/v1/namespaces/default/pods/p/exec?command=%ZZ', '*'])(
    'unauthenticated %s: 401 Status, closed, server alive',
    async (target) => {
      const r = await rawExchange(s, upgrade(target));
      const b = bodyOf(r.text);
      expect(b.status).toBe(401);
      expect(b.json).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
      expect(r.closed).toBe(true);
      await alive();
    },
  );

  it.each([
    '//[',
    'http://[::1',
    '//x/y',
    '/api/v1/namespaces/%ZZ/pods/p/exec?command=sh',
    '/api/v1/namespaces/default/pods/%E0%A4%A/attach',
    '/api/v1/namespaces/default/pods/p/exec?command=%ZZ',
    '/api/v1/namespaces/default/pods/%ZZ/portforward?ports=80',
    '/api/v1/namespaces/a%/pods/p/portforward',
  ])('authenticated %s: 400 Status, closed, server alive', async (target) => {
    const r = await rawExchange(s, upgrade(target, TOKEN));
    const b = bodyOf(r.text);
    expect(b.status).toBe(400);
    expect(b.json).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(r.closed).toBe(true);
    await alive();
  });

  it('a handler that throws: 400 Status, socket closed, reported as a bug, server alive', async () => {
    const r = await rawExchange(s, upgrade('/throw', TOKEN));
    expect(bodyOf(r.text)).toMatchObject({ status: 400, json: { kind: 'Status' } });
    expect(r.closed).toBe(true);
    expect(errors.join('\n')).toContain('handler bug');
    await alive();
  });

  it('an unknown path: 404 Status; the agent path without a join token: 401', async () => {
    expect(bodyOf((await rawExchange(s, upgrade('/nothing/here', TOKEN))).text)).toMatchObject({
      status: 404,
      json: { kind: 'Status', reason: 'NotFound' },
    });
    expect(bodyOf((await rawExchange(s, upgrade(PROTOCOL_PATH))).text)).toMatchObject({
      status: 401,
      json: { kind: 'Status' },
    });
    expect(bodyOf((await rawExchange(s, upgrade(`${PROTOCOL_PATH}?x=%ZZ`, 'K10abc::node:wrong'))).text)).toMatchObject({
      status: 401,
    });
  });

  it('a well-formed exec upgrade still reaches the handler (pod not found: 404 Status)', async () => {
    const r = await rawExchange(s, upgrade('/api/v1/namespaces/default/pods/nope/exec?command=sh&stdout=true', TOKEN));
    expect(bodyOf(r.text)).toMatchObject({ status: 404, json: { kind: 'Status', reason: 'NotFound' } });
  });

  it.each(['http://[::1', '/api/v1/namespaces/%ZZ/configmaps', '/api/v1/namespaces/default/configmaps/%E0%A4%A'])(
    'a plain request to %s: 401 Status before anything, 400 Status when authenticated',
    async (target) => {
      const plain = (token?: string) =>
        rawExchange(
          s,
          `GET ${target} HTTP/1.1\r\nHost: x\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}Connection: close\r\n\r\n`,
        );
      expect(bodyOf((await plain()).text)).toMatchObject({ status: 401, json: { kind: 'Status', code: 401 } });
      expect(bodyOf((await plain(TOKEN)).text)).toMatchObject({
        status: 400,
        json: { kind: 'Status', code: 400, reason: 'BadRequest' },
      });
    },
  );

  it('checkUpgradeTarget', () => {
    expect(checkUpgradeTarget('/api/v1/namespaces/a/pods/b/exec?command=ls&command=-l')).toBeUndefined();
    expect(checkUpgradeTarget('/a%20b')).toBeUndefined();
    for (const bad of ['//[', 'http://[::1', '', '*', '/%', '/a?b=%GG'])
      expect(checkUpgradeTarget(bad)).toBeTypeOf('string');
  });
});
