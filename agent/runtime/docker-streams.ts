// A container's logs and exec sessions on Docker: the attach/hijack streams demultiplexed
// into stdout and stderr (a TTY has one stream), log byte limits applied, the reader going
// away stops the follow. Stream errors end the stream as a RuntimeError and never crash
// the agent (an unheard 'error' event would).

import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { PassThrough, Readable } from 'node:stream';
import { call, toRuntimeError } from './docker-errors.js';
import { RuntimeError } from './errors.js';
import type { ExecOptions, ExecSession, LogOptions } from './types.js';

/** End a stream with an error only if someone listens for errors; an unheard 'error' would crash the process. */
function failStream(s: PassThrough, err: Error): void {
  if (s.destroyed) return;
  if (s.listenerCount('error') > 0) s.destroy(err);
  else s.end();
}

export interface LogsQuery {
  stdout: true;
  stderr: true;
  follow: boolean;
  timestamps: boolean;
  tail: string;
  /** Unix seconds. */
  since?: number;
}

/** The Engine API's logs query for kubectl's options; `nowMs` for sinceSeconds. Pure. */
export function logsQuery(opts: LogOptions, nowMs: number): LogsQuery {
  let since: number | undefined;
  if (opts.sinceTime) {
    const t = Date.parse(opts.sinceTime);
    if (Number.isNaN(t)) throw new RuntimeError('InvalidArgument', `invalid sinceTime ${opts.sinceTime}`);
    since = t / 1000;
  } else if (opts.sinceSeconds !== undefined) {
    since = nowMs / 1000 - opts.sinceSeconds;
  }
  return {
    stdout: true,
    stderr: true,
    follow: !!opts.follow,
    timestamps: !!opts.timestamps,
    tail: opts.tailLines !== undefined && opts.tailLines >= 0 ? String(opts.tailLines) : 'all',
    since,
  };
}

export async function containerLogs(docker: Docker, id: string, opts: LogOptions = {}): Promise<Readable> {
  const c = docker.getContainer(id);
  const info = await call(`inspect ${id}`, () => c.inspect());
  const query = logsQuery(opts, Date.now());
  // docker-modem returns a stream when following and a Buffer otherwise.
  const logsFn = c.logs as unknown as (this: Docker.Container, o: LogsQuery) => Promise<NodeJS.ReadableStream | Buffer>;
  const raw = await call(`logs ${id}`, () => logsFn.call(c, query));
  const src: Readable = Buffer.isBuffer(raw) ? Readable.from([raw]) : (raw as Readable);

  const out = new PassThrough();
  let written = 0;
  const limit = opts.limitBytes && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  const sink = {
    write: (chunk: Buffer): boolean => {
      if (out.writableEnded || out.destroyed) return false;
      if (written + chunk.length >= limit) {
        out.end(chunk.subarray(0, limit - written));
        written = limit;
        src.destroy();
        return false;
      }
      written += chunk.length;
      return out.write(chunk);
    },
  };
  if (info.Config?.Tty) src.on('data', (chunk: Buffer) => sink.write(chunk));
  else
    docker.modem.demuxStream(src, sink as unknown as NodeJS.WritableStream, sink as unknown as NodeJS.WritableStream);
  src.on('end', () => {
    if (!out.writableEnded) out.end();
  });
  src.on('close', () => {
    if (!out.writableEnded) out.end();
  });
  src.on('error', (e: Error) => failStream(out, toRuntimeError(e, `logs ${id}`)));
  // The reader went away (e.g. kubectl logs -f interrupted): stop following.
  out.on('close', () => src.destroy());
  return out;
}

export async function execSession(
  docker: Docker,
  id: string,
  cmd: string[],
  opts: ExecOptions = {},
): Promise<ExecSession> {
  const tty = !!opts.tty;
  const wantStdin = !!opts.stdin;
  const c = docker.getContainer(id);
  const ex = await call(`exec in ${id}`, () =>
    c.exec({
      Cmd: cmd,
      AttachStdin: wantStdin,
      AttachStdout: opts.stdout !== false,
      AttachStderr: opts.stderr !== false,
      Tty: tty,
    }),
  );
  // with hijack, docker-modem resolves with the upgraded socket
  const sock = (await call(`exec in ${id}`, () =>
    ex.start({ hijack: true, stdin: wantStdin, Detach: false, Tty: tty }),
  )) as Duplex;

  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let streamError: RuntimeError | undefined;
  const ended = new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (!stdout.writableEnded) stdout.end();
      if (!stderr.writableEnded) stderr.end();
      resolve();
    };
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (e: Error) => {
      streamError = toRuntimeError(e, `exec in ${id}`);
      finish();
    });
  });
  if (tty) {
    sock.on('data', (chunk: Buffer) => stdout.write(chunk));
    stderr.end();
  } else {
    docker.modem.demuxStream(sock, stdout, stderr);
  }

  let stdin: PassThrough | null = null;
  if (wantStdin) {
    stdin = new PassThrough();
    stdin.on('data', (chunk: Buffer) => {
      if (!sock.destroyed && sock.writable) sock.write(chunk);
    });
    // Closing stdin half-closes the hijacked connection: the process sees EOF.
    stdin.on('end', () => {
      if (!sock.destroyed && sock.writable) sock.end();
    });
    stdin.on('error', () => undefined);
  }

  return {
    stdin,
    stdout,
    stderr,
    resize: async (width: number, height: number) => {
      if (!tty) return;
      await call(`resize exec in ${id}`, () => ex.resize({ w: width, h: height }));
    },
    wait: async () => {
      await ended;
      // The exec may be marked finished a moment after the stream closes.
      for (let i = 0; ; i++) {
        const st = await call(`inspect exec in ${id}`, () => ex.inspect());
        if (!st.Running && st.ExitCode !== null && st.ExitCode !== undefined) return st.ExitCode;
        if (streamError && i >= 5) throw streamError;
        if (i >= 100) throw new RuntimeError('RuntimeError', `exec in ${id} did not report an exit code`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => {
      sock.destroy();
    },
  };
}
