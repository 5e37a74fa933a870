// A pod stream (logs; exec, attach and port-forward upgrades) for a node whose agent is
// connected to another server is relayed to that server, as kube-aggregator proxies: the
// request has been authenticated and authorized here; it goes on with this server's admin
// credential impersonating the user it was authorized as (the peer authorizes that user
// again), so every kind of credential works, client certificates included. The upgrade is
// relayed byte for byte after its head (the WebSocket or SPDY handshake is the client's and
// the peer's). A relayed request carries x-skiff-relayed-by and is never relayed again.
// The peer must present a serving certificate from the cluster's server CA for the address
// the Node names, so an annotation pointing elsewhere gets no credential, only a 503.
// Hand-written rather than http-proxy: the whole job is one header rewrite and two pipes.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { request } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import type { UserInfo } from '../api/auth.js';
import { rejectUpgrade } from './upgrade-reject.js';

export const RELAYED_BY = 'x-skiff-relayed-by';
const HOP_BY_HOP = new Set(['authorization', 'host', RELAYED_BY]);

export interface PeerCredentials {
  /** the cluster CA every server's serving certificate comes from */
  ca: string;
  /** a token every server accepts as an admin (the shared admin token) */
  token: string;
  /** this server's URL (x-skiff-relayed-by) */
  self: string;
}

/** was this request relayed here by another server (then it is not relayed again) */
export function wasRelayed(h: IncomingHttpHeaders): boolean {
  return h[RELAYED_BY] !== undefined;
}

/** the headers the peer gets: the client's, minus credentials and impersonation, plus ours for `user` */
export function relayHeaders(
  h: IncomingHttpHeaders,
  user: UserInfo,
  creds: Pick<PeerCredentials, 'token' | 'self'>,
  host: string,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || k.startsWith('impersonate-')) continue;
    out[k] = v;
  }
  out.host = host;
  out.authorization = `Bearer ${creds.token}`;
  out['impersonate-user'] = user.name;
  if (user.uid) out['impersonate-uid'] = user.uid;
  const groups = user.groups.filter((g) => g !== 'system:authenticated');
  if (groups.length) out['impersonate-group'] = groups;
  for (const [key, values] of Object.entries(user.extra ?? {})) {
    if (values.length) out[`impersonate-extra-${encodeURIComponent(key).toLowerCase()}`] = values;
  }
  out[RELAYED_BY] = creds.self;
  return out;
}

function target(peer: string): { host: string; port: number; hostHeader: string; servername?: string } {
  const u = new URL(peer);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { host, port: Number(u.port) || 443, hostHeader: u.host, ...(isIP(host) ? {} : { servername: host }) };
}

/** a plain request (logs): answered with the peer's response, streamed */
export function relayRequest(
  peer: string,
  creds: PeerCredentials,
  req: IncomingMessage,
  res: ServerResponse,
  user: UserInfo,
): Promise<void> {
  const t = target(peer);
  return new Promise((resolve) => {
    const out = request(
      {
        host: t.host,
        port: t.port,
        servername: t.servername,
        ca: creds.ca,
        method: req.method,
        path: req.url,
        headers: relayHeaders(req.headers, user, creds, t.hostHeader),
      },
      (pr) => {
        res.writeHead(pr.statusCode ?? 502, pr.headers);
        pr.pipe(res);
        pr.on('end', () => resolve());
        pr.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    out.on('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `the server holding the node's agent (${peer}) cannot be reached: ${err.message}`,
            reason: 'ServiceUnavailable',
            code: 503,
          }),
        );
      } else res.destroy();
      resolve();
    });
    // the client went away: so does the relay
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
}

/** an upgrade (exec, attach, port-forward): the head rewritten, then both ways byte for byte */
export function relayUpgrade(
  peer: string,
  creds: PeerCredentials,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  user: UserInfo,
): void {
  const t = target(peer);
  let answered = false;
  const up = connect({
    host: t.host,
    port: t.port,
    servername: t.servername,
    ca: creds.ca,
    ALPNProtocols: ['http/1.1'],
  });
  up.setTimeout(10_000, () => up.destroy(new Error('no answer within 10s')));
  up.on('error', (err) => {
    if (!answered)
      rejectUpgrade(
        socket,
        503,
        `the server holding the node's agent (${peer}) cannot be reached: ${err.message}`,
        'ServiceUnavailable',
      );
    else socket.destroy();
  });
  socket.on('error', () => up.destroy());
  socket.on('close', () => up.destroy());
  up.on('secureConnect', () => {
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    for (const [k, v] of Object.entries(relayHeaders(req.headers, user, creds, t.hostHeader))) {
      for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${String(one)}`);
    }
    up.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) up.write(head);
    up.once('data', () => {
      answered = true;
      up.setTimeout(0);
    });
    up.pipe(socket);
    socket.pipe(up);
  });
}
