// Node impersonation (issue 10, item 6): with the shared join token alone, an agent must
// not take over a node name another agent has joined as — neither while that agent is
// connected (no take-over of its session) nor after it left (no credential) — while the
// node's own agent, restarted, keeps its node, and deleting the Node frees its name.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashCredential, nodePasswordSecretName } from '../../controlplane/agents/node-credentials.js';
import { CloseCode } from '../../proto/agent-protocol.js';
import {
  connectAgent,
  leaseDef,
  newCredential,
  nodeDef,
  podDef,
  register,
  registerMsg,
  secretDef,
  startGateway,
  until,
  type GatewayHarness,
} from './agent-harness.js';

describe('node credentials at the agent gateway', () => {
  let h: GatewayHarness;
  beforeEach(async () => {
    h = await startGateway({ limits: { probeTimeoutMs: 200 } });
  });
  afterEach(async () => {
    await h.stop();
  });

  const secretOf = (node: string) => h.storage.tryGet(secretDef, 'kube-system', nodePasswordSecretName(node));

  it('a first join stores only a hash of the credential, owned by the Node', async () => {
    const cred = newCredential();
    const { agent, first } = await register(h.port, 'n1', cred);
    expect(first.type).toBe('registered');
    const node = await h.storage.tryGet(nodeDef, undefined, 'n1');
    const secret = await secretOf('n1');
    expect(secret).toBeDefined();
    expect(secret!.type).toBe('skiff.io/node-password');
    const stored = Buffer.from(secret!.data.hash, 'base64').toString('utf8');
    expect(stored).toBe(hashCredential(cred));
    expect(JSON.stringify(secret)).not.toContain(cred);
    expect(secret!.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: node!.metadata.uid },
    ]);
    await agent.close();
  });

  it('refuses a second agent with the same name while the first is connected, and the first keeps its session', async () => {
    const cred = newCredential();
    const real = await register(h.port, 'n1', cred);
    expect(real.first.type).toBe('registered');
    expect((await real.agent.next()).type).toBe('pods');
    for (const impostorCred of [newCredential(), undefined]) {
      const imp = await register(h.port, 'n1', impostorCred);
      expect(imp.first.type).toBe('error');
      expect((await imp.agent.closed).code).toBe(CloseCode.credentialRefused);
    }
    // even with the node's credential (a copied data dir): the live connection keeps the name
    const clone = await register(h.port, 'n1', cred);
    expect(clone.first.type).toBe('error');
    expect(clone.first.message).toContain('connected from another agent');
    expect((await clone.agent.closed).code).toBe(CloseCode.nameInUse);
    // the real agent's connection is untouched and still serves the node
    expect(real.agent.ws.readyState).toBe(real.agent.ws.OPEN);
    expect(h.gateway.connected('n1')).toBe(true);
    real.agent.send({ type: 'getObject', id: 'q1', kind: 'Secret', namespace: 'default', name: 'x' });
    expect(await real.agent.next()).toMatchObject({ type: 'object', id: 'q1', error: { code: 403 } });
    await real.agent.close();
  });

  it('after the agent left: refused without its credential or with another; its own restarts it on the same Node', async () => {
    const cred = newCredential();
    const real = await register(h.port, 'n1', cred);
    expect(real.first.type).toBe('registered');
    const uid = (await h.storage.tryGet(nodeDef, undefined, 'n1'))!.metadata.uid;
    await real.agent.close();
    await until('the session to end', () => !h.gateway.connected('n1'));

    const wrong = await register(h.port, 'n1', newCredential());
    expect(wrong.first.type).toBe('error');
    expect(wrong.first.message).toContain('different node credential');
    expect(wrong.first.message).toContain('kubectl delete node n1');
    expect((await wrong.agent.closed).code).toBe(CloseCode.credentialRefused);

    const none = await register(h.port, 'n1', undefined);
    expect(none.first.message).toContain('no node credential');
    expect((await none.agent.closed).code).toBe(CloseCode.credentialRefused);
    expect(h.gateway.connected('n1')).toBe(false);

    const again = await register(h.port, 'n1', cred);
    expect(again.first.type).toBe('registered');
    expect((await h.storage.tryGet(nodeDef, undefined, 'n1'))!.metadata.uid).toBe(uid);
    await again.agent.close();
  });

  it('deleting the Node frees the name: a reinstalled agent (new credential) joins', async () => {
    const old = await register(h.port, 'n1', newCredential());
    expect(old.first.type).toBe('registered');
    await old.agent.close();
    await until('the session to end', () => !h.gateway.connected('n1'));
    await h.storage.delete(nodeDef, undefined, 'n1');
    // the garbage collector is not running here: the stale credential is noticed by its owner uid
    const cred = newCredential();
    const fresh = await register(h.port, 'n1', cred);
    expect(fresh.first.type).toBe('registered');
    const stored = Buffer.from((await secretOf('n1'))!.data.hash, 'base64').toString('utf8');
    expect(stored).toBe(hashCredential(cred));
    await fresh.agent.close();
  });

  it('refuses a Node that exists without a credential (made by hand)', async () => {
    await h.storage.create(nodeDef, undefined, { metadata: { name: 'byhand' } });
    const r = await register(h.port, 'byhand', newCredential());
    expect(r.first.type).toBe('error');
    expect(r.first.message).toContain('has no node credential');
    expect((await r.agent.closed).code).toBe(CloseCode.credentialRefused);
    expect(await secretOf('byhand')).toBeUndefined();
  });

  it('an admin can hand an existing Node (e.g. from before node credentials) to its agent by storing the hash', async () => {
    await h.storage.create(nodeDef, undefined, { metadata: { name: 'legacy' } });
    const cred = newCredential();
    // what README's upgrade note has the admin run (kubectl create secret generic ... --from-literal=hash=sha256:...)
    await h.storage.create(secretDef, 'kube-system', {
      metadata: { name: nodePasswordSecretName('legacy') },
      type: 'skiff.io/node-password',
      data: { hash: Buffer.from(hashCredential(cred)).toString('base64') },
    });
    const r = await register(h.port, 'legacy', cred);
    expect(r.first.type).toBe('registered');
    const node = await h.storage.tryGet(nodeDef, undefined, 'legacy');
    expect((await secretOf('legacy'))!.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Node', name: 'legacy', uid: node!.metadata.uid },
    ]);
    await r.agent.close();
  });

  it("refuses a node name too long for its credential's Secret name", async () => {
    const name = `${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(50)}`;
    const r = await register(h.port, name, newCredential());
    expect(r.first.message).toContain('must be no more than 233 characters');
    expect((await r.agent.closed).code).toBe(CloseCode.credentialRefused);
  });

  it("heartbeats renew the node's Lease; a Lease deleted meanwhile is made again", async () => {
    const r = await register(h.port, 'n1', newCredential());
    expect(r.first.type).toBe('registered');
    const lease = await until('the Lease', () => h.storage.tryGet(leaseDef, 'kube-node-lease', 'n1'), 30_000);
    expect(lease.spec).toMatchObject({ holderIdentity: 'n1', leaseDurationSeconds: 40 });
    await h.storage.delete(leaseDef, 'kube-node-lease', 'n1');
    r.agent.send({ type: 'heartbeat' });
    const again = await until(
      'the Lease made again',
      () => h.storage.tryGet(leaseDef, 'kube-node-lease', 'n1'),
      30_000,
    );
    expect(again.spec.holderIdentity).toBe('n1');
    expect(again.metadata.uid).not.toBe(lease.metadata.uid);
    const rv = again.metadata.resourceVersion;
    await until(
      'a renewal',
      async () => {
        r.agent.send({ type: 'heartbeat' });
        const l = await h.storage.tryGet(leaseDef, 'kube-node-lease', 'n1');
        return l && l.metadata.resourceVersion !== rv ? l : undefined;
      },
      30_000,
    );
  });

  it('with a lease renew interval, a heartbeat within it updates the Node but leaves the Lease', async () => {
    const g = await startGateway({ limits: { leaseRenewIntervalMs: 600_000, minHeartbeatGapMs: 0 } });
    try {
      const r = await register(g.port, 'n1', newCredential());
      expect(r.first.type).toBe('registered');
      const lease = await until('the Lease', () => g.storage.tryGet(leaseDef, 'kube-node-lease', 'n1'), 30_000);
      // a changed condition: the heartbeat writes the Node's status, so its end is visible
      r.agent.send({
        type: 'heartbeat',
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'DiskPressure', status: 'True' },
        ],
      });
      await until(
        'the heartbeat processed',
        async () =>
          (await g.storage.tryGet(nodeDef, undefined, 'n1'))?.status?.conditions?.some(
            (c: { type: string; status: string }) => c.type === 'DiskPressure' && c.status === 'True',
          ),
        30_000,
      );
      expect((await g.storage.tryGet(leaseDef, 'kube-node-lease', 'n1'))?.metadata.resourceVersion).toBe(
        lease.metadata.resourceVersion,
      );
    } finally {
      await g.stop();
    }
  });

  it('getObject: a ConfigMap is readable while a pod of the node references it, forbidden once that pod is gone', async () => {
    const r = await register(h.port, 'n1', newCredential());
    expect(r.first.type).toBe('registered');
    expect((await r.agent.next()).type).toBe('pods');
    await h.storage.create(podDef, 'default', {
      metadata: { name: 'p' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'cm' } }] }],
      },
    } as never);
    await h.storage.create(podDef, 'default', {
      metadata: { name: 'other' },
      spec: {
        nodeName: 'n2',
        containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'cm2' } }] }],
      },
    } as never);
    expect((await r.agent.next()).type).toBe('podUpsert');
    const ask = async (name: string) => {
      r.agent.send({
        type: 'getObject',
        id: `g-${name}-${Math.random()}`,
        kind: 'ConfigMap',
        namespace: 'default',
        name,
      });
      for (;;) {
        const m = await r.agent.next();
        if (m.type === 'object') return m as { error?: { code: number } };
      }
    };
    expect((await ask('cm')).error?.code).toBe(404); // allowed, not there
    expect((await ask('cm2')).error?.code).toBe(403); // another node's pod
    await h.storage.delete(podDef, 'default', 'p', { gracePeriodSeconds: 0 });
    for (;;) {
      const m = await r.agent.next();
      if (m.type === 'podDelete') break;
    }
    expect((await ask('cm')).error?.code).toBe(403);
  });

  it('a Node deleted while its agent is connected ends the session at the next heartbeat', async () => {
    const r = await register(h.port, 'n1', newCredential());
    expect(r.first.type).toBe('registered');
    await h.storage.delete(nodeDef, undefined, 'n1');
    r.agent.send({ type: 'heartbeat' });
    expect((await r.agent.closed).code).toBe(CloseCode.nodeDeleted);
    expect(await h.storage.tryGet(nodeDef, undefined, 'n1')).toBeUndefined();
  });

  it("a dead connection holding the name (no pong) is dropped when the node's agent comes back, which gets in", async () => {
    const cred = newCredential();
    const dead = await register(h.port, 'n1', cred, {}, { autoPong: false });
    expect(dead.first.type).toBe('registered');
    // the unanswered ping drops the dead one within probeTimeoutMs, and the node's agent gets in
    const back = await register(h.port, 'n1', cred);
    expect(back.first.type).toBe('registered');
    await dead.agent.closed;
    expect(h.gateway.connected('n1')).toBe(true);
    // an impostor does not even get the holder pinged out: it is refused for its credential
    const imp = await register(h.port, 'n1', newCredential());
    expect((await imp.agent.closed).code).toBe(CloseCode.credentialRefused);
    expect(back.agent.ws.readyState).toBe(back.agent.ws.OPEN);
    await back.agent.close();
  });

  it('two registers for a new name at once: only one joins', async () => {
    const [a, b] = await Promise.all([connectAgent(h.port), connectAgent(h.port)]);
    a.send(registerMsg('race', newCredential()));
    b.send(registerMsg('race', newCredential()));
    const types = [(await a.next()).type, (await b.next()).type].sort();
    expect(types).toEqual(['error', 'registered']);
    await a.close();
    await b.close();
  });
});
