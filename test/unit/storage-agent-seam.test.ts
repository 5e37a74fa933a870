// The seam between the PV controller and the node agents, in process: the controller's
// VolumeHost is the gateway's AgentVolumeHost, and a test agent connected over a real
// WebSocket answers volumeCreate/volumeDelete as the real agent does.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AgentVolumeHost } from '../../controlplane/agents/volume-host.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import * as pvController from '../../controlplane/controllers/persistent-volume-controller.js';
import * as pvcProtection from '../../controlplane/controllers/pvc-protection-controller.js';
import * as pvProtection from '../../controlplane/controllers/pv-protection-controller.js';
import type { Controller } from '../../controlplane/controllers/types.js';
import { findResource } from '../../controlplane/resources/index.js';
import {
  newCredential,
  register,
  startGateway,
  until,
  type GatewayHarness,
  type Msg,
  type TestAgent,
} from './agent-harness.js';

const pvcDef = findResource('', 'v1', 'persistentvolumeclaims')!;
const pvDef = findResource('', 'v1', 'persistentvolumes')!;
const scDef = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
const eventDef = findResource('', 'v1', 'events')!;

let h: GatewayHarness | undefined;
let stop: (() => void) | undefined;
afterEach(async () => {
  stop?.();
  await h?.stop();
  h = undefined;
});

/** answers the server's volume requests as an agent whose data dir is /data/<node> */
function serveVolumes(agent: TestAgent, node: string, seen: Msg[], fail?: () => string | undefined): void {
  agent.ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Msg;
    if (m.type !== 'volumeCreate' && m.type !== 'volumeDelete') return;
    seen.push(m);
    const error = fail?.();
    agent.send(
      error
        ? { type: 'volumeResult', id: m.id, error }
        : m.type === 'volumeCreate'
          ? { type: 'volumeResult', id: m.id, path: `${m.basePath ?? `/data/${node}/storage`}/${m.pvName}` }
          : { type: 'volumeResult', id: m.id },
    );
  });
}

describe('local-path provisioning over the agent connection', () => {
  it("creates the directory through the selected node's agent, binds, and deletes it through the agent again", async () => {
    h = await startGateway();
    const storage = h.storage;
    const host = new AgentVolumeHost(h.gateway, { createTimeoutMs: 2000, removeTimeoutMs: 2000 });
    const ctx = controllerContext(storage, pino({ level: 'silent' }));
    const cs: Controller[] = [
      pvController.create(ctx, { volumeHost: host }),
      pvcProtection.create(ctx),
      pvProtection.create(ctx),
    ];
    for (const c of cs) await c.start();
    await ctx.informers.startAll();
    stop = () => {
      for (const c of cs) c.stop();
      ctx.informers.stopAll();
      host.close();
    };

    const r = await register(h.port, 'n1', newCredential());
    expect(r.first.type).toBe('registered');
    const seen: Msg[] = [];
    let failWith: string | undefined = 'mkdir /data/n1/storage: permission denied';
    serveVolumes(r.agent, 'n1', seen, () => failWith);

    await storage.create(scDef, undefined, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-path' },
      provisioner: 'skiff.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    // the agent refuses first (permission denied): the reason is the claim's event, no PV
    const c = await storage.create(pvcDef, 'default', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', annotations: { 'volume.kubernetes.io/selected-node': 'n1' } },
      spec: {
        storageClassName: 'local-path',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '64Mi' } },
      },
    });
    const failed = await until('ProvisioningFailed', async () =>
      (await storage.list(eventDef, 'default')).items.find((e) => e.reason === 'ProvisioningFailed'),
    );
    expect(failed.message).toBe(
      'failed to provision volume with StorageClass "local-path": mkdir /data/n1/storage: permission denied',
    );
    expect((await storage.list(pvDef, undefined)).items).toEqual([]);

    failWith = undefined;
    const bound = await until(
      'claim Bound',
      async () => {
        const x = await storage.get(pvcDef, 'default', 'data');
        return x.status?.phase === 'Bound' && x;
      },
      8000,
    );
    const pvName = `pvc-${c.metadata.uid}`;
    expect(bound.spec.volumeName).toBe(pvName);
    expect((await storage.get(pvDef, undefined, pvName)).spec.local).toEqual({ path: `/data/n1/storage/${pvName}` });
    expect(seen.at(-1)).toMatchObject({ type: 'volumeCreate', pvName, sizeBytes: 64 * 1024 * 1024 });

    await storage.delete(pvcDef, 'default', 'data');
    await until('PV gone', async () => !(await storage.tryGet(pvDef, undefined, pvName)));
    expect(seen.filter((m) => m.type === 'volumeDelete')).toEqual([
      expect.objectContaining({ type: 'volumeDelete', pvName, path: `/data/n1/storage/${pvName}` }),
    ]);
    await r.agent.close();
  });
});
