// skiff's Ingress controller in the agent (k3s ships Traefik; skiff serves Ingresses itself):
// an HTTP listener on --ingress-http-port and an HTTPS one on --ingress-https-port (0
// disables either), both on every address of the node. Each network state from the server
// (Ingresses of skiff's class, Services with ready endpoints, TLS key pairs) becomes a new
// routing snapshot and SNI map, swapped in whole: requests already under way keep the
// connections they have, new requests see the new table at once.
// A port that cannot be bound (in use, or below 1024 without the privilege) is logged and
// tried again every 30 s; the agent runs on without it.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { NetworkState } from '../../proto/agent-protocol.js';
import { indexServices } from './backends.js';
import { certificateMap, ContextCache, defaultCertificate, lookupName } from './certs.js';
import {
  handleRequest,
  handleUpgrade,
  upstreamAgent,
  type Listener,
  type ProxyContext,
  type Snapshot,
} from './proxy.js';
import { buildTable } from './router.js';

export interface IngressOptions {
  httpPort: number;
  httpsPort: number;
  /** address to listen on (default every IPv4 address) */
  host?: string;
  dataDir: string;
  nodeName: string;
  log: Logger;
}

const RETRY_MS = 30_000;

export class IngressController {
  private snap: Snapshot = { table: buildTable([]), services: new Map() };
  private sni = new Map<string, SecureContext>();
  private readonly contexts = new ContextCache();
  private readonly rr = new Map<string, number>();
  private readonly servers: Server[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly ctx: ProxyContext;

  constructor(private readonly o: IngressOptions) {
    this.ctx = {
      snapshot: () => this.snap,
      next: (key) => {
        const n = this.rr.get(key) ?? 0;
        this.rr.set(key, (n + 1) % 1_000_000);
        return n;
      },
      log: o.log,
    };
  }

  async start(): Promise<void> {
    if (this.o.httpPort > 0) {
      const l: Listener = { scheme: 'http', port: this.o.httpPort };
      const s = createHttpServer((req, res) => handleRequest(this.ctx, l, req, res));
      s.on('upgrade', (req, socket, head) => handleUpgrade(this.ctx, l, req, socket, head));
      this.listen(s, l);
    }
    if (this.o.httpsPort > 0) {
      const def = await defaultCertificate(this.o.dataDir, this.o.nodeName);
      const defCtx = createSecureContext(def);
      const l: Listener = { scheme: 'https', port: this.o.httpsPort };
      const s = createHttpsServer(
        {
          ...def,
          ALPNProtocols: ['http/1.1'],
          SNICallback: (name, cb) => {
            const k = lookupName(this.sni, name);
            cb(null, (k !== undefined ? this.sni.get(k) : undefined) ?? defCtx);
          },
        },
        (req, res) => handleRequest(this.ctx, l, req, res),
      );
      s.on('upgrade', (req, socket, head) => handleUpgrade(this.ctx, l, req, socket, head));
      this.listen(s, l);
    }
  }

  private listen(s: Server, l: Listener): void {
    // streaming bodies may take as long as they take; idle keep-alive connections still close
    s.requestTimeout = 0;
    s.keepAliveTimeout = 65_000;
    this.servers.push(s);
    const tryListen = () => {
      if (this.stopped) return;
      const onError = (err: NodeJS.ErrnoException) => {
        this.o.log.warn(
          { port: l.port, err: err.code ?? err.message },
          `ingress: cannot listen for ${l.scheme} on port ${l.port}; trying again in 30s`,
        );
        const t = setTimeout(() => {
          this.timers.delete(t);
          tryListen();
        }, RETRY_MS);
        t.unref();
        this.timers.add(t);
      };
      s.once('error', onError);
      s.listen(l.port, this.o.host ?? '0.0.0.0', () => {
        s.off('error', onError);
        s.on('error', (err) => this.o.log.warn({ err }, 'ingress: server error'));
        this.o.log.info({ port: l.port }, `ingress: serving ${l.scheme}`);
      });
    };
    tryListen();
  }

  /** a new network state: swap the routing table and the certificates */
  apply(state: NetworkState): void {
    const ingresses = state.ingresses ?? [];
    this.snap = { table: buildTable(ingresses), services: indexServices(state.services) };
    this.sni = this.contexts.contexts(certificateMap(ingresses, state.ingressCerts ?? []), (host, err) => {
      this.o.log.warn({ host, err: err.message }, 'ingress: TLS key pair refused; the default certificate answers');
    });
  }

  /** stop listening; open connections are closed */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((r) => {
            if (!s.listening) {
              r();
              return;
            }
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
    upstreamAgent.destroy();
  }
}
