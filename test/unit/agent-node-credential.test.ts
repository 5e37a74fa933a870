// The agent's side of the node credential: made once, kept 0600 in the data dir across
// restarts, presented in every register; and the server side's clean-up: the garbage
// collector deletes the stored credential with its Node.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ServerConnection } from '../../agent/connection/connection.js';
import { ServerList } from '../../agent/connection/server-list.js';
import {
  NodeCredentialError,
  loadOrCreateNodeCredential,
  nodeCredentialPath,
} from '../../agent/connection/node-credential.js';
import { NodeCredentials, nodePasswordSecretName } from '../../controlplane/agents/node-credentials.js';
import { create as createGc } from '../../controlplane/controllers/garbage-collector.js';
import type { NodeReport } from '../../proto/agent-protocol.js';
import { startController, until } from './controller-harness.js';
import { newCredential, nodeDef, secretDef } from './agent-harness.js';

describe('loadOrCreateNodeCredential', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'skiff-cred-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('makes a 32-byte credential at mode 0600 once, and returns the same one after', () => {
    const d = dir();
    const a = loadOrCreateNodeCredential(d);
    expect(a.created).toBe(true);
    expect(a.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(nodeCredentialPath(d)).mode & 0o777).toBe(0o600);
    const b = loadOrCreateNodeCredential(d);
    expect(b).toEqual({ ...a, created: false });
    expect(loadOrCreateNodeCredential(dir()).credential).not.toBe(a.credential);
  });

  it('makes a credential readable by others 0600 again, with a warning', () => {
    const d = dir();
    loadOrCreateNodeCredential(d);
    chmodSync(nodeCredentialPath(d), 0o644);
    const warnings: string[] = [];
    loadOrCreateNodeCredential(d, (m) => warnings.push(m));
    expect(statSync(nodeCredentialPath(d)).mode & 0o777).toBe(0o600);
    expect(warnings[0]).toContain('readable by others');
  });

  it('refuses a file that is not a credential instead of silently making a new one', () => {
    const d = dir();
    writeFileSync(nodeCredentialPath(d), 'short\n', { mode: 0o600 });
    expect(() => loadOrCreateNodeCredential(d)).toThrow(NodeCredentialError);
    expect(readFileSync(nodeCredentialPath(d), 'utf8')).toBe('short\n');
  });
});

describe('ServerConnection presents the credential', () => {
  let server: Server | undefined;
  let conn: ServerConnection | undefined;
  afterEach(async () => {
    conn?.stop();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server!.close(() => r()));
    }
  });

  it('sends it in every register', async () => {
    server = createServer();
    const wss = new WebSocketServer({ server });
    const seen: unknown[] = [];
    wss.on('connection', (ws) =>
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string; credential?: string };
        if (m.type === 'register') {
          seen.push(m.credential);
          ws.close(4009, 'again');
        }
      }),
    );
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const cred = newCredential();
    conn = new ServerConnection({
      servers: new ServerList([`http://127.0.0.1:${(server.address() as AddressInfo).port}`]),
      token: 'x',
      log: pino({ level: 'silent' }),
      heartbeatIntervalMs: 60_000,
      register: async () => ({ name: 'n1' }) as unknown as NodeReport,
      conditions: () => [],
      onMessage: () => undefined,
      credential: cred,
      minBackoffMs: 10,
      maxBackoffMs: 20,
    });
    conn.start();
    await until('two registers', async () => seen.length >= 2);
    expect(seen.slice(0, 2)).toEqual([cred, cred]);
  });
});

describe('the stored credential goes with its Node', () => {
  it('the garbage collector deletes it when the Node is deleted', async () => {
    const h = await startController((ctx) => createGc(ctx, { resyncMs: 60_000 }));
    try {
      const creds = new NodeCredentials(h.storage);
      expect(await creds.verify('n1', newCredential())).toEqual({ ok: true, firstJoin: true });
      const node = await h.storage.create(nodeDef, undefined, { metadata: { name: 'n1' } });
      await creds.bind('n1', node.metadata.uid!);
      await h.storage.delete(nodeDef, undefined, 'n1');
      await until(
        'the credential to be collected',
        async () => !(await h.storage.tryGet(secretDef, 'kube-system', nodePasswordSecretName('n1'))),
        10_000,
      );
    } finally {
      await h.stop();
    }
  });
});
