// AgentVolumeHost over the real gateway (in process, real WebSockets) and a real agent
// connection (agent/connection ServerConnection + the agent's volume handler on a temp
// data dir): the server's provision/remove become directories made and removed by the
// node's agent; refusals come back as the rejection's message; a node that is not
// connected, an agent that leaves mid-request, and an agent that never answers reject.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerConnection } from '../../agent/connection/connection.js';
import { ServerList } from '../../agent/connection/server-list.js';
import { LocalVolumes } from '../../agent/storage/local-volumes.js';
import { handleVolumeRequest } from '../../agent/storage/volume-requests.js';
import { AgentVolumeHost } from '../../controlplane/agents/volume-host.js';
import type { NodeReport } from '../../proto/agent-protocol.js';
import {
  JOIN_SECRET,
  newCredential,
  nodeReport,
  register,
  startGateway,
  until,
  type GatewayHarness,
} from './agent-harness.js';

let h: GatewayHarness;
let dir: string;
let conn: ServerConnection | undefined;
beforeEach(async () => {
  h = await startGateway();
  dir = mkdtempSync(join(tmpdir(), 'skiff-vh-'));
});
afterEach(async () => {
  conn?.stop();
  conn = undefined;
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startAgent(node: string): ServerConnection {
  const volumes = new LocalVolumes(dir);
  const c: ServerConnection = new ServerConnection({
    servers: new ServerList([`http://127.0.0.1:${h.port}`]),
    token: JOIN_SECRET,
    log: pino({ level: 'silent' }),
    heartbeatIntervalMs: 60_000,
    register: async () => nodeReport(node) as unknown as NodeReport,
    conditions: () => [],
    credential: newCredential(),
    onMessage: (m) => {
      if (m.type === 'volumeCreate' || m.type === 'volumeDelete')
        void handleVolumeRequest(volumes, m).then((r) => c.send(r));
    },
  });
  c.start();
  return c;
}

describe('AgentVolumeHost', () => {
  it("has the node's agent make and remove the volume directory", async () => {
    conn = startAgent('n1');
    await until('agent registered', () => h.gateway.connected('n1'));
    const host = new AgentVolumeHost(h.gateway);
    const { path } = await host.provision('n1', { pvName: 'pvc-0d9e', sizeBytes: 1 << 30 });
    expect(path).toBe(join(dir, 'storage', 'pvc-0d9e'));
    expect(statSync(path).isDirectory()).toBe(true);
    // the same request again (the controller retrying): the same directory
    expect(await host.provision('n1', { pvName: 'pvc-0d9e', sizeBytes: 1 << 30 })).toEqual({ path });
    const other = await host.provision('n1', { pvName: 'pvc-other', basePath: join(dir, 'disk2'), sizeBytes: 1 });
    expect(other.path).toBe(join(dir, 'disk2', 'pvc-other'));

    // the agent refuses to delete what the server merely names
    await expect(host.remove('n1', { pvName: 'pvc-0d9e', path: dir })).rejects.toThrow(/not deleting it/);
    await expect(host.remove('n1', { pvName: 'pvc-x', path: '/etc' })).rejects.toThrow(/was not created by this agent/);
    await expect(host.provision('n1', { pvName: 'pvc-y', basePath: '/proc/self', sizeBytes: 1 })).rejects.toThrow(
      /base path "\/proc\/self" is inside \/proc/,
    );
    expect(existsSync(dir)).toBe(true);

    await host.remove('n1', { pvName: 'pvc-0d9e', path });
    expect(existsSync(path)).toBe(false);
    await host.remove('n1', { pvName: 'pvc-0d9e', path });
    host.close();
  });

  it('rejects for a node that is not connected, one that leaves, and one that does not answer', async () => {
    const host = new AgentVolumeHost(h.gateway, { createTimeoutMs: 300 });
    await expect(host.provision('nowhere', { pvName: 'pvc-1', sizeBytes: 1 })).rejects.toThrow(
      'node nowhere is not connected',
    );

    // a registered agent that never answers volume requests
    const { agent, first } = await register(h.port, 'mute', newCredential());
    expect(first.type).toBe('registered');
    await until('mute registered', () => h.gateway.connected('mute'));
    await expect(host.provision('mute', { pvName: 'pvc-1', sizeBytes: 1 })).rejects.toThrow(
      'node mute did not answer within 0s',
    );

    // an answer from another node for this request's id is ignored; the agent leaving fails it
    const { agent: other } = await register(h.port, 'other', newCredential());
    const slow = new AgentVolumeHost(h.gateway, { createTimeoutMs: 10_000 });
    const p = slow.provision('mute', { pvName: 'pvc-2', sizeBytes: 1 });
    p.catch(() => undefined);
    let req = await agent.next();
    while (req.type !== 'volumeCreate' || req.pvName !== 'pvc-2') {
      // the timed-out request's late answer changes nothing
      if (req.type === 'volumeCreate') agent.send({ type: 'volumeResult', id: req.id, path: '/late' });
      req = await agent.next();
    }
    expect(req).toMatchObject({ type: 'volumeCreate', pvName: 'pvc-2', sizeBytes: 1 });
    other.send({ type: 'volumeResult', id: req.id, path: '/forged' });
    await new Promise((r) => setTimeout(r, 100));
    await agent.close();
    await expect(p).rejects.toThrow('node mute disconnected before answering');
    await other.close();
    host.close();
    slow.close();
  });
});
