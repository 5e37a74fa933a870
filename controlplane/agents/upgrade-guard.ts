// The one listener for HTTP upgrades on the API port. Order matters: authenticate
// before looking at anything else in the request, then check the request target, then
// dispatch; whatever a handler throws is answered (Status, 400) and the socket closed,
// never left to kill the process (an `upgrade` listener runs outside fastify, where an
// exception is uncaught: `GET //[` with `Upgrade: websocket` used to stop the server).
//  - the agents' path authenticates itself (join token / node credential): it is matched
//    by plain string comparison and handed over as is;
//  - every other upgrade (exec, attach, port-forward) needs a user's bearer token first:
//    401 without one, then 400 for a target that is not an origin-form path, does not
//    parse as a URL or has a bad percent-escape, 404 when no handler takes it.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ApiError } from '../api/errors.js';
import type { TokenAuthenticator, UserInfo } from '../api/auth.js';
import type { HttpEdge } from '../api/http-edge.js';
import { rejectUpgrade } from './upgrade-reject.js';

export interface UpgradeHandler {
  /** true when the request was taken (answered or upgraded) */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

export interface UpgradeGuardOptions {
  auth: TokenAuthenticator;
  log: Pick<Logger, 'error' | 'warn'>;
  /** handlers that authenticate their own requests, by exact path (query ignored) */
  selfAuthenticating?: { path: string; handler: UpgradeHandler }[];
  /** handlers for authenticated users, tried in order */
  handlers: UpgradeHandler[];
  edge?: HttpEdge;
  /** RBAC for user upgrades (exec/attach/portforward); throws the 403 ApiError */
  authorize?: (req: IncomingMessage, user: UserInfo) => void;
}

/** a request target the upgrade handlers may parse: origin-form, a URL, percent-escapes that decode */
export function checkUpgradeTarget(raw: string): string | undefined {
  if (!raw.startsWith('/') || raw.startsWith('//')) return 'the request target must be an absolute path';
  let url: URL;
  try {
    url = new URL(raw, 'http://localhost');
  } catch {
    return 'the request target is not a valid URL';
  }
  try {
    for (const seg of url.pathname.split('/')) decodeURIComponent(seg);
    for (const part of url.search.slice(1).split('&')) decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return 'the request target has an invalid percent-escape';
  }
  return undefined;
}

function refuse(socket: Duplex, code: number, message: string, reason: string): void {
  if (socket.destroyed) return;
  try {
    if (socket.writable) rejectUpgrade(socket, code, message, reason);
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

/** the `upgrade` listener; install with server.on('upgrade', guardUpgrades(...)) */
export function guardUpgrades(o: UpgradeGuardOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    try {
      const raw = typeof req.url === 'string' ? req.url : '';
      const path = raw.split('?')[0];
      const own = o.selfAuthenticating?.find((r) => r.path === path);
      if (own) {
        if (!own.handler.handleUpgrade(req, socket, head))
          refuse(socket, 404, 'the server could not find the requested resource', 'NotFound');
        // still open after the handler's check: an authenticated connection
        else if (!socket.destroyed && !socket.writableEnded) o.edge?.authenticated(socket);
        return;
      }
      const user = o.auth.authenticate({ headers: req.headers, socket: req.socket });
      if (!user) {
        refuse(socket, 401, 'Unauthorized', 'Unauthorized');
        return;
      }
      o.edge?.authenticated(socket);
      const bad = checkUpgradeTarget(raw);
      if (bad) {
        refuse(socket, 400, bad, 'BadRequest');
        return;
      }
      o.authorize?.(req, user);
      for (const h of o.handlers) if (h.handleUpgrade(req, socket, head)) return;
      refuse(socket, 404, 'the server could not find the requested resource', 'NotFound');
    } catch (e) {
      if (e instanceof ApiError) {
        refuse(socket, e.code, e.message, e.reason);
        return;
      }
      o.log.error(
        { err: e, url: String(req.url).slice(0, 256), method: req.method },
        'BUG: upgrade handler threw; request refused',
      );
      refuse(socket, 400, 'the upgrade request could not be handled', 'BadRequest');
    }
  };
}

/** install the guard as the only `upgrade` listener of the server */
export function installUpgradeGuard(server: Server, o: UpgradeGuardOptions): void {
  server.removeAllListeners('upgrade');
  server.on('upgrade', guardUpgrades(o));
}
