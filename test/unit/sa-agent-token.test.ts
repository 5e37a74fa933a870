// The agent's requestToken at the gateway: a token bound to the pod for a pod bound to the
// node, running as that ServiceAccount (the node authorizer's rule); 403 for anything else.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey, verifyJwt } from '../../controlplane/serviceaccount/jwt.js';
import { issuePodToken } from '../../controlplane/serviceaccount/routes.js';
import { ServiceAccountTokens } from '../../controlplane/serviceaccount/tokens.js';
import { findResource } from '../../controlplane/resources/index.js';
import { newCredential, podDef, register, startGateway, type GatewayHarness } from './agent-harness.js';

const key = generateSigningKey();
const saDef = findResource('', 'v1', 'serviceaccounts')!;

describe('requestToken', () => {
  let h: GatewayHarness;
  beforeEach(async () => {
    const tokens = new ServiceAccountTokens({ keys: [key], lookup: { get: () => undefined } });
    let storageRef: GatewayHarness['storage'] | undefined;
    h = await startGateway({ issueToken: (r) => issuePodToken(storageRef!, tokens, r) });
    storageRef = h.storage;
    await h.storage.create(saDef, 'default', { metadata: { name: 'app' } });
    for (const [name, node] of [
      ['mine', 'n1'],
      ['theirs', 'n2'],
    ] as const) {
      await h.storage.create(podDef, 'default', {
        metadata: { name },
        spec: { nodeName: node, serviceAccountName: 'app', containers: [{ name: 'c', image: 'i' }] },
      });
    }
  });
  afterEach(async () => {
    await h.stop();
  });

  it("issues a pod-bound token for a pod on the node; refuses other nodes' pods, wrong uids and accounts", async () => {
    const { agent } = await register(h.port, 'n1', newCredential());
    const mine = (await h.storage.get(podDef, 'default', 'mine')).metadata.uid!;
    const theirs = (await h.storage.get(podDef, 'default', 'theirs')).metadata.uid!;
    const ask = (id: string, podName: string, podUid: string, serviceAccountName = 'app') =>
      agent.send({
        type: 'requestToken',
        id,
        namespace: 'default',
        serviceAccountName,
        podName,
        podUid,
        expirationSeconds: 3607,
      });
    /** the next answer to a request (the pod set and updates skipped) */
    const answer = async () => {
      for (;;) {
        const m = await agent.next();
        if (m.type === 'object') return m;
      }
    };

    ask('t1', 'mine', mine);
    const ok = await answer();
    expect(ok).toMatchObject({
      type: 'object',
      id: 't1',
      object: { kind: 'TokenRequest', status: { token: expect.any(String) } },
    });
    const claims = verifyJwt([key], (ok.object as { status: { token: string } }).status.token)!;
    expect(claims['kubernetes.io']).toMatchObject({
      namespace: 'default',
      pod: { name: 'mine', uid: mine },
      serviceaccount: { name: 'app' },
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3607);

    for (const [id, name, uid, sa] of [
      ['t2', 'theirs', theirs, 'app'],
      ['t3', 'mine', 'other-uid', 'app'],
      ['t4', 'mine', mine, 'default'],
      ['t5', 'ghost', 'u', 'app'],
    ] as const) {
      ask(id, name, uid, sa);
      const r = await answer();
      expect(r, id).toMatchObject({ type: 'object', id, error: { code: 403, reason: 'Forbidden' } });
      expect((r.error as { message: string }).message).toContain(
        `User "system:node:n1" cannot create resource "serviceaccounts/token"`,
      );
    }
    await agent.close();
  });
});
