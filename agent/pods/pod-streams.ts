// Serves the server's stream requests for this node's pods: container logs and exec,
// backed by the runtime, framed as streamData messages (channel 1 stdout, 2 stderr);
// and port-forward: a TCP connection to the pod IP's port, bytes on channel 0/1.
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { AgentMessage, ServerMessage } from '../../proto/agent-protocol.js';
import type { ExecSession, Runtime } from '../runtime/types.js';
import { byAttemptDesc } from './plan.js';
import type { PodManager } from './pod-manager.js';

type Open = Extract<ServerMessage, { type: 'streamOpen' }>;

export class PodStreamServer {
  private open = new Map<string, { close(): void; input?(channel: number, data: Buffer): void }>();

  constructor(
    private readonly runtime: Runtime,
    private readonly pods: PodManager,
    private readonly node: string,
    private readonly send: (m: AgentMessage) => boolean,
    private readonly log: Logger,
  ) {}

  /** input that arrives while an exec is still starting waits here, in order */
  private early = new Map<string, { channel: number; data: Buffer }[]>();

  handle(m: Extract<ServerMessage, { type: 'streamOpen' | 'streamInput' | 'streamClose' }>): void {
    if (m.type === 'streamOpen') {
      this.early.set(m.id, []);
      void this.start(m)
        .catch((err) => this.end(m.id, err instanceof Error ? err.message : String(err)))
        .finally(() => this.early.delete(m.id));
    } else if (m.type === 'streamInput') {
      const data = Buffer.from(m.data, 'base64');
      const st = this.open.get(m.id);
      if (st) st.input?.(m.channel, data);
      else this.early.get(m.id)?.push({ channel: m.channel, data });
    } else {
      this.open.get(m.id)?.close();
      this.open.delete(m.id);
      this.early.delete(m.id);
    }
  }

  private end(id: string, error?: string, exitCode?: number): void {
    this.open.delete(id);
    this.send({ type: 'streamEnd', id, error, exitCode });
  }

  private data(id: string, channel: number, chunk: Buffer): void {
    this.send({ type: 'streamData', id, channel, data: chunk.toString('base64') });
  }

  private async start(m: Open): Promise<void> {
    const pod = this.pods.podByRef(m.pod.namespace, m.pod.name, m.pod.uid);
    if (!pod) return this.end(m.id, `pod ${m.pod.namespace}/${m.pod.name} is not running on node ${this.node}`);
    if (m.kind === 'portforward') return this.portForward(m, pod.spec?.hostNetwork === true);
    const containerName = m.log?.container ?? m.exec?.container ?? '';
    const all = (await this.runtime.listPodContainers(this.node, m.pod.uid))
      .filter((c) => c.type === 'container' && c.containerName === containerName)
      .sort(byAttemptDesc);
    if (m.kind === 'log') {
      const opts = m.log!;
      const target = opts.previous ? all[1] : all[0];
      if (!target) {
        return this.end(
          m.id,
          opts.previous
            ? `previous terminated container "${containerName}" in pod "${m.pod.name}" not found`
            : `container "${containerName}" in pod "${m.pod.name}" is waiting to start: ContainerCreating`,
        );
      }
      const stream = await this.runtime.logs(target.id, {
        follow: opts.follow,
        tailLines: opts.tailLines,
        timestamps: opts.timestamps,
        sinceSeconds: opts.sinceSeconds,
        sinceTime: opts.sinceTime,
        limitBytes: opts.limitBytes,
      });
      this.open.set(m.id, { close: () => stream.destroy() });
      stream.on('data', (d: Buffer | string) => this.data(m.id, 1, Buffer.from(d)));
      stream.on('end', () => this.end(m.id));
      stream.on('error', (err) => this.end(m.id, err.message));
      return;
    }
    const target = all[0];
    if (!target || target.state !== 'running')
      return this.end(m.id, `container ${containerName} is not running in pod ${m.pod.name}`);
    const ex = m.exec!;
    let session: ExecSession;
    try {
      session = await this.runtime.exec(target.id, ex.command, {
        stdin: ex.stdin,
        tty: ex.tty,
        stdout: ex.stdout,
        stderr: ex.stderr,
      });
    } catch (err) {
      return this.end(m.id, `failed to exec in container: ${(err as Error).message}`);
    }
    let finished = false;
    this.open.set(m.id, {
      close: () => {
        finished = true;
        session.close();
      },
      input: (channel, data) => {
        if (channel === 0) session.stdin?.write(data);
        else if (channel === 255) session.stdin?.end();
        else if (channel === 4) {
          try {
            const s = JSON.parse(data.toString('utf8'));
            void session.resize(Number(s.Width), Number(s.Height)).catch(() => undefined);
          } catch {
            /* bad resize frame: ignore */
          }
        }
      },
    });
    for (const x of this.early.get(m.id) ?? []) this.open.get(m.id)!.input!(x.channel, x.data);
    this.early.delete(m.id);
    session.stdout.on('data', (d: Buffer) => this.data(m.id, 1, d));
    session.stderr.on('data', (d: Buffer) => this.data(m.id, 2, d));
    session.wait().then(
      (code) => {
        if (!finished) {
          finished = true;
          setImmediate(() => this.end(m.id, undefined, code));
        }
      },
      (err) => {
        if (!finished) {
          finished = true;
          this.end(m.id, (err as Error).message);
        }
      },
    );
  }

  /** connect to the pod's port; the stream ends when the connection closes */
  private async portForward(m: Open, hostNetwork: boolean): Promise<void> {
    const port = m.port;
    if (!port) return this.end(m.id, 'no port given');
    const sandbox = (await this.runtime.listPodContainers(this.node, m.pod.uid))
      .filter((c) => c.type === 'sandbox' && c.state === 'running')
      .sort(byAttemptDesc)[0];
    if (!sandbox) return this.end(m.id, `pod ${m.pod.namespace}/${m.pod.name} has no running sandbox`);
    const host = hostNetwork ? '127.0.0.1' : sandbox.ip;
    if (!host) return this.end(m.id, `pod ${m.pod.namespace}/${m.pod.name} has no IP address`);
    if (!this.early.has(m.id)) return; // closed by the server while we looked
    const sock: Socket = connect({ host, port });
    let connected = false;
    let failure: Error | undefined;
    let done = false;
    this.open.set(m.id, {
      close: () => {
        done = true;
        sock.destroy();
      },
      input: (channel, data) => {
        if (channel === 0) sock.write(data);
        else if (channel === 255) sock.end();
        else if (channel === 254) {
          if (data[0] === 1) sock.pause();
          else sock.resume();
        }
      },
    });
    for (const x of this.early.get(m.id) ?? []) this.open.get(m.id)!.input!(x.channel, x.data);
    this.early.delete(m.id);
    sock.setNoDelay(true);
    sock.on('connect', () => {
      connected = true;
    });
    sock.on('data', (d: Buffer) => {
      if (!done) this.data(m.id, 1, d);
    });
    sock.on('error', (err) => {
      failure ??= err;
    });
    sock.on('close', () => {
      if (done) return;
      done = true;
      const code = (failure as NodeJS.ErrnoException | undefined)?.code;
      const why =
        code === 'ECONNREFUSED'
          ? 'connection refused'
          : code === 'EHOSTUNREACH'
            ? 'no route to host'
            : failure?.message;
      this.end(m.id, !connected && failure ? `failed to connect to ${host}:${port}: ${why}` : undefined);
    });
  }
}
