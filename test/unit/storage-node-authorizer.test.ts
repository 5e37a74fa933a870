// An agent reads the claim a pod on its node uses, and the volume bound to that claim,
// through getObject over a real agent connection; anything else is Forbidden.
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentMessage } from '../../proto/agent-protocol.js';
import { findResource } from '../../controlplane/resources/index.js';
import { newCredential, podDef, register, type GatewayHarness, type TestAgent, startGateway } from './agent-harness.js';

const pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;
const pvDef = findResource('', 'v1', 'persistentvolumes')!;

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function registered(name: string): Promise<TestAgent> {
  const r = await register(h!.port, name, newCredential());
  expect(r.first.type).toBe('registered');
  expect((await r.agent.next()).type).toBe('pods');
  return r.agent;
}

let seq = 0;
async function ask(agent: TestAgent, kind: string, namespace: string, name: string) {
  const id = `q${++seq}`;
  agent.send({ type: 'getObject', id, kind, namespace, name });
  const m = await agent.next();
  expect(m.id).toBe(id);
  return m as { object?: { kind: string; metadata: { name: string } }; error?: { code: number; message: string } };
}

describe('getObject for PersistentVolumeClaims and PersistentVolumes', () => {
  it('the protocol accepts the two kinds', () => {
    for (const kind of ['PersistentVolumeClaim', 'PersistentVolume']) {
      expect(
        parseAgentMessage(JSON.stringify({ type: 'getObject', id: '1', kind, namespace: 'default', name: 'x' })).ok,
      ).toBe(true);
    }
  });

  it('a node reads the claim of a pod bound to it and the volume bound to that claim, and nothing else', async () => {
    h = await startGateway();
    const storage = h.storage;
    await storage.create(pvDef, undefined, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'vol' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        hostPath: { path: '/srv/vol' },
        claimRef: { namespace: 'default', name: 'data' },
      },
    });
    await storage.create(pvDef, undefined, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'other-vol' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/srv/other' } },
    });
    const claim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '' },
    };
    await storage.create(pvcDef, 'default', {
      ...claim,
      metadata: { name: 'data' },
      spec: { ...claim.spec, volumeName: 'vol' },
    });
    await storage.create(pvcDef, 'default', { ...claim, metadata: { name: 'unused' } });
    await storage.create(podDef, 'default', {
      metadata: { name: 'p' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    const n1 = await registered('n1');
    const n2 = await registered('n2');

    const c = await ask(n1, 'PersistentVolumeClaim', 'default', 'data');
    expect(c.object).toMatchObject({
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { volumeName: 'vol' },
    });
    const v = await ask(n1, 'PersistentVolume', 'default', 'vol');
    expect(v.object).toMatchObject({
      kind: 'PersistentVolume',
      metadata: { name: 'vol' },
      spec: { hostPath: { path: '/srv/vol' } },
    });

    expect((await ask(n1, 'PersistentVolumeClaim', 'default', 'unused')).error?.code).toBe(403);
    const pvDenied = await ask(n1, 'PersistentVolume', 'default', 'other-vol');
    expect(pvDenied.error).toMatchObject({
      code: 403,
      message: `persistentvolumes "other-vol" is forbidden: User "system:node:n1" cannot get resource "persistentvolumes" in API group "" at the cluster scope: no relationship found between node 'n1' and this object`,
    });
    // the other node has no pod using them
    expect((await ask(n2, 'PersistentVolumeClaim', 'default', 'data')).error?.code).toBe(403);
    const denied = await ask(n2, 'PersistentVolume', 'default', 'vol');
    expect(denied.error?.code).toBe(403);
    expect(denied.object).toBeUndefined();
    await n1.close();
    await n2.close();
  });
});
