// kubectl logs and kubectl exec through the server: the request is checked here
// (auth, pod, container), then relayed over the node's agent connection. Exec speaks
// the WebSocket channel protocol (v5.channel.k8s.io, also v4) as KUBECTL.md measures it.
// Port-forward upgrades are handed to PortForwardRelay (port-forward.ts).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { rejectUpgrade } from './upgrade-reject.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KubeObject } from '../../proto/meta.js';
import type { LogOptions } from '../../proto/agent-protocol.js';
import { ApiError, badRequest, notFound } from '../api/errors.js';
import type { TokenAuthenticator } from '../api/auth.js';
import type { ApiStorage } from '../api/storage.js';
import type { PodStreams } from '../api/subresources.js';
import { intParam } from '../api/query-options.js';
import { findResource } from '../resources/index.js';
import type { AgentGateway } from './gateway.js';
import { parseTarget, PortForwardRelay, SPDY_WS_PROTOCOL } from './port-forward.js';
import { queryBool } from '../../proto/query-bool.js';
import type { UserInfo } from '../api/auth.js';
import { userOf } from '../authz/http.js';
import { relayRequest, relayUpgrade, wasRelayed, type PeerCredentials } from './peer-relay.js';

type Query = Record<string, string | string[] | undefined>;
const one = (q: Query, k: string) => {
  const v = q[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
};
const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach)$/;
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/** which container a request means: the named one, the default-container annotation, or the only one */
export function pickContainer(pod: KubeObject, requested: string | undefined): string {
  const names: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  const all = [...names, ...(pod.spec?.initContainers ?? []).map((c: { name: string }) => c.name)];
  if (requested) {
    if (!all.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
    return requested;
  }
  const dflt = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (dflt && names.includes(dflt)) return dflt;
  if (names.length === 1) return names[0]!;
  throw badRequest(
    `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
  );
}

function nodeOf(gw: AgentGateway, pod: KubeObject): string {
  const node = pod.spec?.nodeName;
  if (!node) throw badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
  if (!gw.connected(node))
    throw new ApiError(503, 'ServiceUnavailable', `node "${node}" is not connected: its agent is down or unreachable`);
  return node;
}

/** a non-negative int64 query parameter, parsed as Go's ParseInt (1e20, 0x10, 1.5 are 400) */
function intQ(q: Query, k: string): number | undefined {
  const n = intParam(q, k);
  if (n !== undefined && n < 0) throw badRequest(`invalid ${k}: ${one(q, k)}: must be greater than or equal to 0`);
  return n;
}

/** several servers: where a node's agent is connected if not here, and how to reach that server */
export interface PeerRelayOptions {
  peerFor(node: string): Promise<string | undefined>;
  credentials(): PeerCredentials;
  /** the user an upgrade was authorized as (after impersonation) */
  upgradeUser(req: IncomingMessage): UserInfo | undefined;
}

export class PodStreamRelay implements PodStreams {
  private wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protos) => PROTOCOLS.find((p) => protos.has(p)) ?? false,
  });
  private readonly portForward: PortForwardRelay;

  constructor(
    private readonly gw: AgentGateway,
    private readonly storage: ApiStorage,
    private readonly auth: TokenAuthenticator,
    private readonly logger: Logger,
    private readonly peers?: PeerRelayOptions,
  ) {
    this.portForward = new PortForwardRelay(gw, storage, auth, logger, (node, req, socket, head) =>
      this.relayUpgradeTo(node, req, socket, head),
    );
  }

  /** the server to relay to: the node's agent is connected there, not here (a relayed request never goes on) */
  private async peer(node: string | undefined, headers: IncomingMessage['headers']): Promise<string | undefined> {
    if (!this.peers || !node || this.gw.connected(node) || wasRelayed(headers)) return undefined;
    return this.peers.peerFor(node);
  }

  /** relay an upgrade for `node` if its agent is connected to another server; true when relayed */
  private async relayUpgradeTo(node: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const peer = await this.peer(node, req.headers);
    const user = peer
      ? (this.peers!.upgradeUser(req) ?? this.auth.authenticate({ headers: req.headers, socket: req.socket }))
      : undefined;
    if (!peer || !user) return false;
    relayUpgrade(peer, this.peers!.credentials(), req, socket, head, user);
    return true;
  }

  async log(req: FastifyRequest, reply: FastifyReply, pod: KubeObject): Promise<void> {
    const q = req.query as Query;
    const container = pickContainer(pod, one(q, 'container'));
    const opts: LogOptions = {
      container,
      follow: queryBool(one(q, 'follow')),
      timestamps: queryBool(one(q, 'timestamps')),
      previous: queryBool(one(q, 'previous')),
      tailLines: intQ(q, 'tailLines'),
      sinceSeconds: intQ(q, 'sinceSeconds'),
      limitBytes: intQ(q, 'limitBytes'),
      sinceTime: one(q, 'sinceTime'),
    };
    // the options are checked before the pod's state: a bad parameter is a 400 on any pod
    const peer = await this.peer(pod.spec?.nodeName, req.headers);
    const user = peer ? (userOf(req) ?? this.auth.authenticate(req)) : undefined;
    if (peer && user) {
      reply.hijack();
      await relayRequest(peer, this.peers!.credentials(), req.raw, reply.raw, user);
      return;
    }
    const node = nodeOf(this.gw, pod);
    await new Promise<void>((resolve, reject) => {
      let started = false;
      const res = reply.raw;
      const start = () => {
        if (started) return;
        started = true;
        reply.hijack();
        res.writeHead(200, {
          'Content-Type': 'text/plain',
          'Transfer-Encoding': 'chunked',
          'Cache-Control': 'no-cache, private',
        });
      };
      const stream = this.gw.openStream(
        node,
        {
          pod: { namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! },
          kind: 'log',
          log: opts,
        },
        {
          data: (_ch, data) => {
            start();
            res.write(data);
          },
          end: (error) => {
            if (!started) {
              if (error) {
                reject(badRequest(error));
                return;
              }
              start();
            }
            res.end();
            resolve();
          },
        },
      );
      if (!stream) {
        reject(new ApiError(503, 'ServiceUnavailable', `node "${node}" is not connected`));
        return;
      }
      // flush headers right away when following, so kubectl shows lines as they come
      if (opts.follow) start();
      req.raw.on('close', () => {
        stream.close();
        if (!res.writableEnded) res.end();
        resolve();
      });
    });
  }

  async stream(
    _req: FastifyRequest,
    _reply: FastifyReply,
    _pod: KubeObject,
    kind: 'exec' | 'attach' | 'portforward',
  ): Promise<void> {
    // exec/attach/portforward need an upgrade (handled in handleUpgrade); a plain request cannot carry them
    if (kind === 'portforward')
      throw badRequest(
        `portforward requires an upgrade: WebSocket with protocol ${SPDY_WS_PROTOCOL} (or v4/v5.channel.k8s.io with ?ports=), or Upgrade: SPDY/3.1`,
      );
    throw badRequest(`${kind} requires a WebSocket upgrade with protocol ${PROTOCOLS.join(' or ')}`);
  }

  /** true when the upgrade was an exec/attach/portforward request (answered here) */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (this.portForward.handleUpgrade(req, socket, head)) return true;
    const fail = (code: number, message: string, reason = 'BadRequest') => rejectUpgrade(socket, code, message, reason);
    const target = parseTarget(req.url, EXEC_PATH);
    if (!target) return false;
    if (!this.auth.authenticate({ headers: req.headers, socket: req.socket })) {
      fail(401, 'Unauthorized', 'Unauthorized');
      return true;
    }
    if ('error' in target) {
      fail(400, target.error);
      return true;
    }
    const { url, m } = target;
    const namespace = m[1]!;
    const name = m[2]!;
    const kind = m[3] as 'exec' | 'attach';
    const q = url.searchParams;
    const flag = (k: string) => queryBool(q.get(k));
    (async () => {
      const pod = await this.storage.tryGet(findResource('', 'v1', 'pods')!, namespace, name);
      if (!pod) throw notFound('pods', name);
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed')
        throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
      const container = pickContainer(pod, q.get('container') ?? undefined);
      const command = q.getAll('command');
      if (kind === 'exec' && !command.length) throw badRequest('you must specify at least 1 command');
      if (pod.spec?.nodeName && (await this.relayUpgradeTo(pod.spec.nodeName, req, socket, head))) return;
      const node = nodeOf(this.gw, pod);
      const opts = {
        container,
        command: command.length ? command : ['sh'],
        stdin: flag('stdin'),
        stdout: flag('stdout'),
        stderr: flag('stderr'),
        tty: flag('tty'),
      };
      this.wss.handleUpgrade(req, socket, head, (ws) => this.relayExec(ws, node, pod, kind, opts));
    })().catch((e) => {
      if (e instanceof ApiError) fail(e.code, e.message, e.reason);
      else {
        this.logger.error({ err: e }, 'exec upgrade failed');
        fail(500, 'internal error', 'InternalError');
      }
    });
    return true;
  }

  private relayExec(
    ws: WebSocket,
    node: string,
    pod: KubeObject,
    kind: 'exec' | 'attach',
    exec: { container: string; command: string[]; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
  ): void {
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    let ended = false;
    const stream = this.gw.openStream(
      node,
      { pod: { namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! }, kind, exec },
      {
        data: (channel, data) => {
          if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
        },
        end: (error, exitCode) => {
          if (ended) return;
          ended = true;
          let status: Record<string, unknown>;
          if (error) status = { metadata: {}, status: 'Failure', message: error, reason: 'InternalError', code: 500 };
          else if (exitCode && exitCode !== 0) {
            status = {
              metadata: {},
              status: 'Failure',
              message: `command terminated with non-zero exit code: error executing command [${exec.command.join(' ')}], exit code ${exitCode}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
            };
          } else status = { metadata: {}, status: 'Success' };
          if (ws.readyState === ws.OPEN) {
            ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
            ws.close(1000);
          }
        },
      },
    );
    if (!stream) {
      ws.send(
        Buffer.concat([
          Buffer.from([3]),
          Buffer.from(
            JSON.stringify({
              metadata: {},
              status: 'Failure',
              message: `node "${node}" is not connected`,
              reason: 'ServiceUnavailable',
              code: 503,
            }),
          ),
        ]),
      );
      ws.close(1000);
      return;
    }
    ws.on('message', (raw: Buffer, isBinary) => {
      const buf = isBinary ? raw : Buffer.from(raw);
      if (buf.length < 1) return;
      const ch = buf[0]!;
      if (ch === 255 && v5) {
        // close signal for one stream: [255, n]; stdin EOF is [255, 0]
        if (buf[1] === 0) stream.input(255, Buffer.from([0]));
        return;
      }
      if (ch === 0 || ch === 4) stream.input(ch, buf.subarray(1));
    });
    ws.on('close', () => {
      if (!ended) {
        ended = true;
        stream.close();
      }
    });
    ws.on('error', () => {
      /* close follows */
    });
  }
}
