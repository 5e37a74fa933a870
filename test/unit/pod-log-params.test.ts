// kubectl logs' integer parameters are Go int64s checked before anything else: 1e20,
// 1.5 or a negative count is a 400 Status, on any pod (it used to pass Number('1e20')).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../controlplane/config.js';
import { runServer } from '../../controlplane/server.js';

let server: { stop(): Promise<void>; url: string };
let dir = '';
let token = '';
let ca = '';

function call(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: { kind?: string; message?: string } }> {
  const u = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: Number(u.port),
        method,
        path,
        ca,
        servername: 'localhost',
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let b = '';
        res.on('data', (d) => {
          b += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(b || '{}') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('pod log parameters', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-logq-'));
    server = await runServer(parseServerArgs(['--data-dir', dir, '--listen', '127.0.0.1:0', '--log-level', 'fatal']));
    token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
    ca = readFileSync(join(dir, 'tls', 'server-ca.crt'), 'utf8');
    const r = await call(
      'POST',
      '/api/v1/namespaces/default/pods',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      }),
    );
    expect(r.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['tailLines=1e20', 'tailLines=1.5', 'tailLines=-1', 'sinceSeconds=0x10', 'limitBytes=99999999999999999999'])(
    '%s is a 400 Status',
    async (q) => {
      const r = await call('GET', `/api/v1/namespaces/default/pods/p/log?${q}`);
      expect(r.status).toBe(400);
      expect(r.json.kind).toBe('Status');
    },
  );
});
