// The built-in web dashboard's static files at /dashboard/ on the API port (issue 18).
// Only the files scripts/build-dashboard.mjs wrote into dist/dashboard/ are served, read
// once and kept in memory with their gzip form; they need no token (auth.ts lists these
// paths as public). Everything the page shows comes from ordinary API requests carrying
// the user's bearer token, so authentication and RBAC apply as for kubectl.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** /dashboard, /dashboard/ and one flat file name below it: the only public dashboard paths */
const DASHBOARD_PATH = /^\/dashboard(?:\/(?:[A-Za-z0-9][A-Za-z0-9._-]*)?)?$/;

export function isDashboardPath(path: string): boolean {
  return DASHBOARD_PATH.test(path) && !path.includes('..');
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  ico: 'image/x-icon',
};

interface Asset {
  body: Buffer;
  gz: Buffer;
  type: string;
  immutable: boolean;
}

/** dist/dashboard next to the compiled server (dist/controlplane/api → dist/dashboard), or from the source tree */
export function defaultDashboardDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const d of [join(here, '..', '..', 'dashboard'), join(here, '..', '..', 'dist', 'dashboard')]) {
    if (existsSync(join(d, 'index.html'))) return d;
  }
  return join(here, '..', '..', 'dist', 'dashboard');
}

export function loadDashboardAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  if (!existsSync(join(dir, 'index.html'))) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isFile() || !isDashboardPath(`/dashboard/${e.name}`) || e.name.endsWith('.map')) continue;
    const body = readFileSync(join(dir, e.name));
    const ext = e.name.slice(e.name.lastIndexOf('.') + 1);
    // esbuild's content-hashed names (name-HASH.js) never change; index.html always may
    out.set(e.name, {
      body,
      gz: gzipSync(body, { level: 9 }),
      type: TYPES[ext] ?? 'application/octet-stream',
      immutable: /-[A-Z0-9]{8}\.(js|css)$/.test(e.name),
    });
  }
  return out;
}

// the page talks to its own origin only; xterm.js writes <style> elements
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function notFound(reply: FastifyReply, message: string) {
  return reply
    .code(404)
    .type('application/json')
    .send(new ApiError(404, 'NotFound', message, {}).body());
}

export function registerDashboardRoutes(app: FastifyInstance, dir = defaultDashboardDir()): void {
  let assets: Map<string, Asset> | undefined;
  let loadedAt = 0;
  const send = (req: FastifyRequest, reply: FastifyReply, name: string) => {
    // read at the first request; a name not there reads the directory again (at most once
    // a second), so a rebuilt dist/dashboard is served without a restart
    if (!assets || (!assets.has(name) && Date.now() - loadedAt > 1000)) {
      try {
        assets = loadDashboardAssets(dir);
      } catch {
        assets ??= new Map();
      }
      loadedAt = Date.now();
    }
    const a = assets.get(name);
    if (!a) {
      const msg = assets.size
        ? 'the server could not find the requested resource'
        : 'the dashboard is not built into this server (npm run build writes dist/dashboard)';
      return notFound(reply, msg);
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    reply
      .header('Content-Type', a.type)
      .header('Cache-Control', a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('Content-Security-Policy', CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .header('Vary', 'Accept-Encoding');
    if (gzip) reply.header('Content-Encoding', 'gzip');
    return reply.send(gzip ? a.gz : a.body);
  };
  app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/', 301));
  app.get('/dashboard/', async (req, reply) => send(req, reply, 'index.html'));
  app.get('/dashboard/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    if (!isDashboardPath(`/dashboard/${file}`))
      return notFound(reply, 'the server could not find the requested resource');
    return send(req, reply, file);
  });
}
