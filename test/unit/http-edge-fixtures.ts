// An API server in process on a real port (https with a fresh PKI, or plain http), for the
// HTTP edge tests: real sockets, real TLS, the SQLite store in memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import type { HttpEdgeLimits } from '../../controlplane/api/http-edge.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { ensurePki } from '../../controlplane/security/pki.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

export const TOKEN = 'edge-test-token';

export interface EdgeServer {
  app: FastifyInstance;
  port: number;
  ca: string;
  /** the serving key and certificate (https) */
  tls?: { key: string; cert: string };
  storage: ApiStorage;
  auth: TokenAuthenticator;
  close(): Promise<void>;
}

export async function startEdgeServer(
  opts: { tls?: boolean; limits?: Partial<HttpEdgeLimits>; bodyLimit?: number } = {},
): Promise<EdgeServer> {
  const store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  const auth = new TokenAuthenticator();
  auth.add(TOKEN, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
  const dir = mkdtempSync(join(tmpdir(), 'skiff-edge-'));
  let ca = '';
  let https: { key: string; cert: string } | undefined;
  if (opts.tls !== false) {
    const pki = await ensurePki(dir, ['localhost', '127.0.0.1']);
    ca = pki.caPem;
    https = { key: pki.keyPem, cert: pki.certPem };
  }
  const app = await buildApiServer({
    storage,
    auth,
    logger: false,
    https,
    edgeLimits: opts.limits,
    bodyLimit: opts.bodyLimit,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    app,
    port,
    ca,
    storage,
    auth,
    tls: https,
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** write raw bytes on a new TLS (or plain) connection; resolve with all bytes read until the server closes */
export function rawExchange(
  s: Pick<EdgeServer, 'port' | 'ca'>,
  data: string | Buffer,
  opts: { tls?: boolean; timeoutMs?: number } = {},
): Promise<{ text: string; closed: boolean }> {
  return new Promise((res, rej) => {
    let text = '';
    let settled = false;
    const onSocket = (sock: import('node:net').Socket) => {
      const timer = setTimeout(() => {
        if (!settled) {
          settled = true;
          sock.destroy();
          res({ text, closed: false });
        }
      }, opts.timeoutMs ?? 5000);
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        text += d;
      });
      sock.on('error', () => undefined);
      sock.on('close', () => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          res({ text, closed: true });
        }
      });
    };
    if (opts.tls === false) {
      import('node:net').then(({ connect }) => {
        const sock = connect(s.port, '127.0.0.1', () => sock.write(data));
        onSocket(sock);
      }, rej);
    } else {
      import('node:tls').then(({ connect }) => {
        const sock = connect({ host: '127.0.0.1', port: s.port, ca: s.ca, servername: 'localhost' }, () =>
          sock.write(data),
        );
        onSocket(sock);
      }, rej);
    }
  });
}

/** the JSON body of a raw HTTP response */
export function bodyOf(raw: string): {
  status: number;
  json: { kind?: string; code?: number; reason?: string; message?: string } | undefined;
} {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const i = raw.indexOf('\r\n\r\n');
  let json;
  try {
    json = JSON.parse(raw.slice(i + 4));
  } catch {
    json = undefined;
  }
  return { status, json };
}
