// The HTTP edge of the API port, below fastify: connection-level defences that a route
// or hook cannot give.
//  - The HTTP parser reads through JavaScript, not natively. Node's server hands a
//    socket to its native parser ("consume") and pauses that parser while a reply is
//    still draining (a reply over 16 KiB always is: TLS writes finish asynchronously).
//    But TLSWrap keeps delivering the records it already decrypted from the same TCP
//    read to the paused parser, which fails them with HPE_PAUSED, and the server closes
//    the kept-alive socket mid-request without an answer (kubectl: "Unable to connect to
//    the server: EOF"; ~40 % of 60 KB requests over one connection). Unconsumed, the
//    socket's own pause buffers the bytes and nothing is lost.
//  - Time limits: TLS handshake and request headers 10 s; a request body gets
//    base + declared size / minimum rate; kept-alive connections idle out. None of them
//    cuts watches, log follows or exec streams: those have no request body, their
//    request is complete once the headers are in.
//  - A parse error or time-out is answered with a Status (never written into a reply
//    that has already started) and the socket closed; nothing thrown here escapes.
//  - At most `maxUnauthenticatedPerIp` connections per client address that have not yet
//    presented credentials; more are closed at once.
import { STATUS_CODES, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface HttpEdgeLimits {
  /** TLS handshake and request headers, ms */
  headersTimeoutMs: number;
  /** a request body may take this long plus size / bodyMinBytesPerSecond, ms */
  bodyTimeoutBaseMs: number;
  bodyMinBytesPerSecond: number;
  /** a kept-alive connection with no request in flight is closed after this, ms */
  idleTimeoutMs: number;
  /** concurrent connections per client address that have not authenticated yet */
  maxUnauthenticatedPerIp: number;
}

export const DEFAULT_EDGE_LIMITS: HttpEdgeLimits = {
  headersTimeoutMs: 10_000,
  bodyTimeoutBaseMs: 10_000,
  bodyMinBytesPerSecond: 64 * 1024,
  idleTimeoutMs: 75_000,
  maxUnauthenticatedPerIp: 256,
};

export function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** a whole HTTP/1.1 error response with a Status body that closes the connection */
export function rawStatusResponse(code: number, reason: string, message: string, extraHeaders = ''): string {
  const body = statusBody(code, reason, message);
  return `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-cache, private\r\n${extraHeaders}Connection: close\r\n\r\n${body}`;
}

/** true when the request declares a body (Content-Length > 0 or chunked) */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

interface ConnRecord {
  ip: string;
  counted: boolean;
}

export interface HttpEdge {
  /** the connection behind this request presented valid credentials */
  authenticated(socket: Duplex): void;
  /** unauthenticated connections per address now (for tests) */
  unauthenticatedCount(ip: string): number;
  /** body time limit for a request of this declared size, ms */
  bodyTimeoutMs(bytes: number): number;
}

const connOf = new WeakMap<object, ConnRecord>();

/** Answer a clientError (parse error, header/request time-out) and close; never throws. */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  try {
    if (err.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const inflight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    // a reply already on its way cannot be followed by another one
    if (socket.writable && !(inflight && inflight.headersSent)) {
      let res: string;
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
        res = rawStatusResponse(408, 'Timeout', 'the request was not received in time');
      else if (err.code === 'HPE_HEADER_OVERFLOW')
        res = rawStatusResponse(431, 'RequestHeaderFieldsTooLarge', 'the request headers are too large');
      else if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW')
        res = rawStatusResponse(413, 'RequestEntityTooLarge', 'the request chunk extensions are too large');
      else res = rawStatusResponse(400, 'BadRequest', `malformed HTTP request${err.code ? ` (${err.code})` : ''}`);
      socket.end(res);
      closeSoon(socket);
    } else socket.destroy();
  } catch {
    try {
      socket.destroy();
    } catch {
      /* gone */
    }
  }
}

/** destroy a socket shortly after ending it, so a peer that never closes cannot hold it */
export function closeSoon(socket: Duplex, ms = 1000): void {
  const t = setTimeout(() => socket.destroy(), ms);
  t.unref();
  socket.once('close', () => clearTimeout(t));
}

function remoteIp(socket: Duplex): string {
  return (socket as Socket).remoteAddress ?? '';
}

/**
 * Install the edge defences on the API server (http or https). Call before listen.
 * `tls`: the server is an https.Server (HTTP runs on 'secureConnection' sockets).
 */
export function installHttpEdge(
  server: HttpServer,
  tls: boolean,
  limits: HttpEdgeLimits = DEFAULT_EDGE_LIMITS,
  bodyLimit = 3 * 1024 * 1024,
): HttpEdge {
  const unauth = new Map<string, number>();
  const release = (rec: ConnRecord) => {
    if (!rec.counted) return;
    rec.counted = false;
    const n = (unauth.get(rec.ip) ?? 1) - 1;
    if (n <= 0) unauth.delete(rec.ip);
    else unauth.set(rec.ip, n);
  };
  const bodyTimeoutMs = (bytes: number) =>
    limits.bodyTimeoutBaseMs + Math.ceil((bytes / limits.bodyMinBytesPerSecond) * 1000);

  // every TCP connection: count it against its address until it authenticates
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = unauth.get(ip) ?? 0;
    if (n >= limits.maxUnauthenticatedPerIp) {
      socket.destroy();
      return;
    }
    const rec: ConnRecord = { ip, counted: true };
    unauth.set(ip, n + 1);
    connOf.set(socket, rec);
    socket.once('close', () => release(rec));
  });

  // HTTP sockets: parse through JavaScript (see the top of this file)
  const unconsume = (socket: Duplex) => {
    const noop = () => undefined;
    socket.on('data', noop); // node's http wrapper unconsumes the parser on a 'data' listener
    socket.removeListener('data', noop);
  };
  if (tls) {
    server.on('secureConnection', (socket: Duplex & { _parent?: object }) => {
      unconsume(socket);
      const parent = socket._parent;
      const rec = parent ? connOf.get(parent) : undefined;
      if (rec) connOf.set(socket, rec);
    });
  } else server.on('connection', unconsume);

  server.headersTimeout = limits.headersTimeoutMs;
  // a backstop: the largest body at the slowest allowed rate (per-request limits below)
  server.requestTimeout = bodyTimeoutMs(bodyLimit) + limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.idleTimeoutMs;
  // the default 30 s sweep would let a 10 s header limit run to 40 s
  (server as HttpServer & { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 1000;
  // (the TLS handshake limit is the https option handshakeTimeout: tlsServerOptions)
  server.removeAllListeners('clientError');
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => answerClientError(err, socket));

  // per-request body limit: base + declared size at the minimum rate
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!hasBody(req) || req.complete) return;
    const declared = Number(req.headers['content-length']);
    // chunked: as much time as the largest body allowed
    const ms = bodyTimeoutMs(Number.isFinite(declared) && declared > 0 ? Math.min(declared, bodyLimit) : bodyLimit);
    const timer = setTimeout(() => {
      if (req.complete) return;
      const socket = req.socket;
      if (!res.headersSent && socket.writable) {
        socket.end(
          rawStatusResponse(408, 'Timeout', `the request body was not received in time (${Math.round(ms / 1000)}s)`),
        );
        closeSoon(socket);
      } else socket.destroy();
    }, ms);
    timer.unref();
    const done = () => clearTimeout(timer);
    req.once('end', done);
    req.once('close', done);
    res.once('close', done);
  });

  return {
    authenticated(socket) {
      const rec = connOf.get(socket);
      if (rec) release(rec);
    },
    unauthenticatedCount: (ip) => unauth.get(ip) ?? 0,
    bodyTimeoutMs,
  };
}

export { remoteIp };

/**
 * TLS 1.2 offers only AEAD suites with forward secrecy (ECDHE with AES-GCM or
 * ChaCha20-Poly1305, the secure part of Go's and so Kubernetes' default list); TLS 1.3
 * suites are AEAD by definition. No CBC, no SHA-1 MACs, no static RSA key exchange.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];
export const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** the https options of the API port */
export function tlsServerOptions(
  key: string,
  cert: string,
  limits: HttpEdgeLimits = DEFAULT_EDGE_LIMITS,
): Record<string, unknown> {
  return {
    key,
    cert,
    minVersion: 'TLSv1.2',
    ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':'),
    honorCipherOrder: true,
    handshakeTimeout: limits.headersTimeoutMs,
  };
}

/**
 * Ask every new TLS connection of the API port for a client certificate, verified
 * against `clientCaPem` but never required (rejectUnauthorized false: agents, tokens and
 * anonymous health checks connect without one; auth.ts reads `socket.authorized`), as
 * kube-apiserver's --client-ca-file does (tls.VerifyClientCertIfGiven). Call on the https
 * server before it listens; connections already open keep their context.
 */
export function requestClientCertificates(
  server: HttpServer,
  o: { key: string; cert: string; clientCaPem: string; limits?: HttpEdgeLimits },
): void {
  const tlsServer = server as HttpServer & {
    setSecureContext?: (opts: Record<string, unknown>) => void;
    requestCert?: boolean;
    rejectUnauthorized?: boolean;
  };
  if (typeof tlsServer.setSecureContext !== 'function')
    throw new Error('requestClientCertificates needs an https server');
  tlsServer.setSecureContext({ ...tlsServerOptions(o.key, o.cert, o.limits), ca: o.clientCaPem });
  tlsServer.requestCert = true;
  tlsServer.rejectUnauthorized = false;
}
