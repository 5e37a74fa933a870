// The ingress reverse proxy's request path, over Node's http core (no HTTP parsing of its
// own): route by Host and path (router.ts), pick the Service's ready endpoints (backends.ts)
// round robin, dial the pod directly and stream both bodies through; a refused or failed
// connect moves on to the next endpoint before any byte of the request body is read.
// Answers of its own: 404 (no rule matches and no default backend), 503 (the Service has no
// ready endpoint, or is missing), 502 (every endpoint failed, or the upstream's response head
// is one Node refuses to write: status outside 100-999, a bad reason phrase or header).
// WebSocket and other upgrades are passed through as raw byte streams after the request head;
// the upstream socket closes with the client's, also when the client left during the connect.
// Headers: Host is kept; X-Forwarded-For (the client address), X-Forwarded-Proto,
// X-Forwarded-Host, X-Forwarded-Port and X-Real-Ip are set by the proxy, replacing what the
// client sent (it is not a trusted proxy); hop-by-hop headers are not forwarded.
import {
  Agent,
  request,
  STATUS_CODES,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { resolveBackend, type ServiceIndex, type Target } from './backends.js';
import { route, type Backend, type RouteTable } from './router.js';

export interface Snapshot {
  table: RouteTable;
  services: ServiceIndex;
}

export interface ProxyContext {
  /** the routing state at this moment (swapped whole on every change) */
  snapshot(): Snapshot;
  /** where round robin starts for this backend (advances on every call) */
  next(key: string): number;
  log: Logger;
}

export interface Listener {
  scheme: 'http' | 'https';
  port: number;
}

const CONNECT_TIMEOUT_MS = 5_000;
const RETRYABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
const FORWARDED = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
]);

export const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64, timeout: 60_000 });

const clientIP = (req: IncomingMessage): string => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');

/** headers named in Connection are hop-by-hop too */
const NO_TOKENS: ReadonlySet<string> = new Set();
function connectionTokens(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const c = headers.connection;
  if (c === undefined || c === 'keep-alive' || c === 'close') return NO_TOKENS; // the usual case, nothing to parse
  return new Set(
    (Array.isArray(c) ? c.join(',') : (c ?? ''))
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** the request's raw headers for the upstream (a flat name, value, … list), with the X-Forwarded set */
export function forwardHeaders(req: IncomingMessage, l: Listener, upgrade: boolean): string[] {
  const tokens = connectionTokens(req.headers);
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (FORWARDED.has(lower)) continue;
    if (HOP_BY_HOP.has(lower) || tokens.has(lower)) {
      if (upgrade && lower === 'upgrade') out.push(name, raw[i + 1]!);
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (upgrade) out.push('Connection', 'Upgrade');
  const ip = clientIP(req);
  out.push(
    'X-Forwarded-For',
    ip,
    'X-Forwarded-Proto',
    l.scheme,
    'X-Forwarded-Host',
    req.headers.host ?? '',
    'X-Forwarded-Port',
    String(l.port),
    'X-Real-Ip',
    ip,
  );
  return out;
}

/** the upstream response's headers without hop-by-hop ones, as a flat list for writeHead */
function responseHeaders(res: IncomingMessage): string[] {
  const tokens = connectionTokens(res.headers);
  const out: string[] = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const lower = res.rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || tokens.has(lower)) continue;
    out.push(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  }
  return out;
}

function answer(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // the reason is given: a writeHead that threw may have left the upstream's on res
  res.writeHead(status, STATUS_CODES[status] ?? 'unknown', {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

/** Node's client parser accepts heads its server side refuses to write (status 099, a DEL in
 *  the reason phrase): such a response is the upstream's fault, a 502, never a throw */
function forwardHead(res: ServerResponse, ures: IncomingMessage): boolean {
  const status = ures.statusCode ?? 0;
  if (!Number.isInteger(status) || status < 100 || status > 999) return false;
  try {
    res.writeHead(status, ures.statusMessage, responseHeaders(ures));
    return true;
  } catch {
    return false;
  }
}

type Pick = { ok: true; targets: Target[] } | { ok: false; status: number; body: string };

/** route + resolve: the endpoints to try, in round-robin order */
function pick(ctx: ProxyContext, host: string | undefined, url: string | undefined): Pick {
  const snap = ctx.snapshot();
  const r = route(snap.table, host, url);
  if (!r) return { ok: false, status: 404, body: '404 page not found\n' };
  const res = resolveBackend(snap.services, r.backend);
  if (!res.ok) return { ok: false, status: 503, body: 'no available server\n' };
  const start = ctx.next(backendKey(r.backend)) % res.targets.length;
  return { ok: true, targets: [...res.targets.slice(start), ...res.targets.slice(0, start)] };
}

const backendKey = (b: Backend): string => `${b.namespace}/${b.service}:${b.port}`;

export function handleRequest(ctx: ProxyContext, l: Listener, req: IncomingMessage, res: ServerResponse): void {
  const p = pick(ctx, req.headers.host, req.url);
  if (!p.ok) {
    req.resume();
    answer(res, p.status, p.body);
    return;
  }
  const headers = forwardHeaders(req, l, false);
  let done = false;
  let current: ClientRequest | undefined;
  res.on('close', () => {
    done = true;
    if (!res.writableFinished) current?.destroy(); // the client went away: so does the upstream request
  });
  const attempt = (i: number): void => {
    const t = p.targets[i]!;
    let connected = false;
    const up = request({
      host: t.ip,
      port: t.port,
      method: req.method,
      path: req.url,
      headers,
      agent: upstreamAgent,
      setHost: false,
    });
    const timer = setTimeout(() => {
      if (!connected) up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
    }, CONNECT_TIMEOUT_MS);
    up.on('socket', (s: Socket) => {
      const go = () => {
        connected = true;
        clearTimeout(timer);
        if (done) {
          up.destroy();
          return;
        }
        req.pipe(up);
      };
      if (s.connecting) s.once('connect', go);
      else go();
    });
    up.on('response', (ures) => {
      if (done) {
        ures.destroy();
        return;
      }
      if (!forwardHead(res, ures)) {
        ctx.log.debug(
          { target: `${t.ip}:${t.port}`, status: ures.statusCode },
          'ingress: upstream sent an invalid response head',
        );
        done = true; // the upstream's error/close after this destroy is no news to the client
        up.destroy();
        answer(res, 502, 'Bad Gateway\n');
        return;
      }
      // the head goes out with the first body bytes; a response that is slow to start gets it at once
      let sent = false;
      ures.once('data', () => {
        sent = true;
      });
      setImmediate(() => {
        if (!sent && !res.headersSent && !done) res.flushHeaders();
      });
      ures.pipe(res);
      ures.on('error', () => res.destroy());
      ures.on('aborted', () => res.destroy());
    });
    up.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (done) return;
      if (!connected && RETRYABLE.has(err.code ?? '') && i + 1 < p.targets.length) {
        ctx.log.debug({ target: `${t.ip}:${t.port}`, err: err.code }, 'ingress: endpoint failed, trying the next');
        attempt(i + 1);
        return;
      }
      ctx.log.debug({ target: `${t.ip}:${t.port}`, err: err.message }, 'ingress: upstream failed');
      answer(res, 502, 'Bad Gateway\n');
    });
    current = up;
  };
  attempt(0);
}

/** an Upgrade request (WebSocket): the head is sent as Node parsed it, then bytes flow both ways */
export function handleUpgrade(
  ctx: ProxyContext,
  l: Listener,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  socket.on('error', () => socket.destroy());
  const p = pick(ctx, req.headers.host, req.url);
  if (!p.ok) {
    socket.end(
      `HTTP/1.1 ${p.status} ${p.status === 404 ? 'Not Found' : 'Service Unavailable'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(p.body)}\r\nConnection: close\r\n\r\n${p.body}`,
    );
    return;
  }
  const h = forwardHeaders(req, l, true);
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i + 1 < h.length; i += 2) lines.push(`${h[i]}: ${h[i + 1]}`);
  // the client may go away at any time, also while the upstream is still connecting: whatever
  // upstream socket is current then goes with it (the listener is there before any connect)
  let current: Socket | undefined;
  socket.once('close', () => current?.destroy());
  const attempt = (i: number): void => {
    const t = p.targets[i]!;
    const up = connect({ host: t.ip, port: t.port });
    current = up;
    let connected = false;
    // bounds a connect that never completes (the timer runs while connecting)
    up.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (!connected) up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
    });
    up.once('connect', () => {
      connected = true;
      up.setTimeout(0);
      if (socket.destroyed) {
        up.destroy();
        return;
      }
      up.setNoDelay(true);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
      up.on('close', () => socket.destroy());
    });
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (socket.destroyed) return;
      if (!connected && RETRYABLE.has(err.code ?? '') && i + 1 < p.targets.length) {
        attempt(i + 1);
        return;
      }
      if (!connected)
        socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Gateway\n');
      else socket.destroy();
    });
  };
  attempt(0);
}
