// Keep-alive under large bodies (issue 10 item 4): 200 requests with 60 KB bodies over ONE
// kept-alive TLS connection, from a client in another process (node's https.Agent,
// keepAlive, maxSockets 1), as kubectl and client-node send them. Before the fix ~40 % of
// them were reset (HPE_PAUSED: the paused native parser was fed the next records).
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeServer, TOKEN, type EdgeServer } from './http-edge-fixtures.js';

const CLIENT = `
import { Agent, request } from 'node:https';
const [port, ca, token, n, bodyBytes] = JSON.parse(process.argv[2]);
const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
const big = 'x'.repeat(bodyBytes);
const sockets = new Set();
const out = { codes: {}, errors: {}, sockets: 0 };
function send(i) {
  // every request is a real write (a new value each time)
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ka-' + (i % 30) }, data: { big, n: String(i) } });
  return new Promise((res) => {
    const r = request({ host: '127.0.0.1', port, servername: 'localhost', method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/ka-' + (i % 30) + '?fieldManager=ka&force=true', agent,
      headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/apply-patch+yaml', 'Content-Length': Buffer.byteLength(body), Accept: 'application/json' } }, (resp) => {
      resp.resume();
      resp.on('end', () => res({ code: resp.statusCode }));
      resp.on('error', (e) => res({ err: e.code ?? String(e) }));
    });
    r.on('socket', (s) => sockets.add(s));
    r.on('error', (e) => res({ err: e.code ?? String(e) }));
    r.end(body);
  });
}
await Promise.all(Array.from({ length: n }, (_, i) => send(i).then((r) => {
  if (r.err) out.errors[r.err] = (out.errors[r.err] ?? 0) + 1; else out.codes[r.code] = (out.codes[r.code] ?? 0) + 1;
})));
out.sockets = sockets.size;
agent.destroy();
process.stdout.write(JSON.stringify(out));
`;

interface ClientResult {
  codes: Record<string, number>;
  errors: Record<string, number>;
  sockets: number;
}

function runClient(s: EdgeServer, n: number, bodyBytes: number): Promise<ClientResult> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ka-'));
  const file = join(dir, 'client.mjs');
  writeFileSync(file, CLIENT);
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [file, JSON.stringify([s.port, s.ca, TOKEN, n, bodyBytes])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) rej(new Error(`client exited ${code}: ${err}`));
      else res(JSON.parse(out) as ClientResult);
    });
  });
}

describe('keep-alive connections with large bodies', () => {
  let s: EdgeServer;
  beforeAll(async () => {
    s = await startEdgeServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it('200 requests of 60 KB over one kept-alive TLS connection: none reset, one socket', async () => {
    const r = await runClient(s, 200, 60 * 1024);
    expect(r.errors).toEqual({});
    expect((r.codes['200'] ?? 0) + (r.codes['201'] ?? 0)).toBe(200);
    expect(r.sockets).toBe(1);
  });
});
