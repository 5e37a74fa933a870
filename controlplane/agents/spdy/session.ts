// A small server-side SPDY/3.1 session over any byte transport (a raw socket after
// an HTTP upgrade, or WebSocket binary messages). Enough for port-forward: peer-opened
// streams, SYN_REPLY, DATA both ways with FIN half-close, RST_STREAM, PING, GOAWAY,
// SETTINGS and WINDOW_UPDATE flow control (stream and 3.1 session windows).
//
// Flow control when sending: Go's spdystream (kubectl) never sends WINDOW_UPDATE nor
// SETTINGS, so a peer that has shown no sign of flow control (no SETTINGS, no
// WINDOW_UPDATE yet) is sent to freely; once it sends either, its windows are honoured.
import {
  DEFAULT_WINDOW,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameParser,
  GoawayStatus,
  HeaderCompressor,
  HeaderDecompressor,
  RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SpdyProtocolError,
  encodeFrame,
  type Frame,
  type Headers,
} from './frames.js';

export interface SpdyTransport {
  write(b: Buffer): void;
  /** bytes written but not yet flushed to the network */
  buffered(): number;
  /** tear the transport down; err says why (for logs / close reasons) */
  close(err?: Error): void;
}

export interface SessionOptions {
  maxFrameBytes?: number;
  /** largest DATA frame we send */
  maxSendFrame?: number;
}

const MAX_WINDOW = 0x7fffffff;
/** SKIFF_SPDY_DEBUG=1 traces every frame on stderr */
const DEBUG = process.env.SKIFF_SPDY_DEBUG === '1';

export class SpdyStream {
  headers: Headers = {};
  /** remote side sent FIN */
  remoteEnded = false;
  /** we sent FIN */
  localEnded = false;
  closed = false;
  replied = false;
  sendWindow: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private finPending = false;
  private unacked = 0;

  ondata?: (b: Buffer) => void;
  /** the peer half-closed (FIN) */
  onend?: () => void;
  /** the stream is gone: both sides done, reset by either side, or the session ended */
  onclose?: (reason: 'done' | 'reset' | 'session') => void;

  constructor(
    readonly id: number,
    private readonly s: SpdySession,
    initialWindow: number,
  ) {
    this.sendWindow = initialWindow;
  }

  reply(headers: Headers = {}, fin = false): void {
    if (this.replied || this.closed) return;
    this.replied = true;
    this.s.sendFrame({
      type: 'syn_reply',
      streamId: this.id,
      flags: fin ? FLAG_FIN : 0,
      headerBlock: this.s.compressor.compress(headers),
    });
    if (fin) this.markLocalEnd();
  }

  write(data: Buffer): void {
    if (this.closed || this.localEnded || this.finPending || !data.length) return;
    this.queue.push(data);
    this.queuedBytes += data.length;
    this.flush();
  }

  end(): void {
    if (this.closed || this.localEnded || this.finPending) return;
    this.finPending = true;
    this.flush();
  }

  reset(status: number = RstStatus.CANCEL): void {
    if (this.closed) return;
    this.s.sendFrame({ type: 'rst_stream', streamId: this.id, status });
    this.s.dropStream(this, 'reset');
  }

  /** bytes waiting for the peer's window */
  get queued(): number {
    return this.queuedBytes;
  }

  /** @internal send what the windows allow */
  flush(): void {
    if (!this.replied) return;
    while (this.queue.length && !this.closed) {
      const allowed = this.s.sendAllowance(this);
      if (allowed <= 0) return;
      const head = this.queue[0]!;
      const n = Math.min(head.length, allowed, this.s.maxSendFrame);
      const chunk = head.subarray(0, n);
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      this.queuedBytes -= n;
      this.sendWindow -= n;
      this.s.consumeSessionWindow(n);
      this.s.sendFrame({ type: 'data', streamId: this.id, flags: 0, data: Buffer.from(chunk) });
    }
    if (!this.queue.length && this.finPending && !this.localEnded && !this.closed) {
      this.finPending = false;
      this.s.sendFrame({ type: 'data', streamId: this.id, flags: FLAG_FIN, data: Buffer.alloc(0) });
      this.markLocalEnd();
    }
  }

  private markLocalEnd(): void {
    this.localEnded = true;
    if (this.remoteEnded) this.s.dropStream(this, 'done');
  }

  /** @internal */
  receiveData(data: Buffer, fin: boolean): void {
    if (data.length) {
      this.ondata?.(data);
      if (!fin && !this.closed) {
        this.unacked += data.length;
        if (this.unacked >= DEFAULT_WINDOW / 2) {
          this.s.sendFrame({ type: 'window_update', streamId: this.id, delta: this.unacked });
          this.unacked = 0;
        }
      }
    }
    if (fin) this.receiveFin();
  }

  /** @internal */
  receiveFin(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    this.onend?.();
    if (this.localEnded) this.s.dropStream(this, 'done');
  }

  /** @internal */
  markClosed(reason: 'done' | 'reset' | 'session'): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.onclose?.(reason);
  }
}

export class SpdySession {
  readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly parser: FrameParser;
  private readonly streams = new Map<number, SpdyStream>();
  private lastRemoteId = 0;
  private initialWindow = DEFAULT_WINDOW;
  private sessionSendWindow = DEFAULT_WINDOW;
  private sessionUnacked = 0;
  /** the peer showed it does flow control (SETTINGS or WINDOW_UPDATE seen) */
  private peerFlowControl = false;
  private goneAway = false;
  private closedFlag = false;
  /** frames wait here while a header block before them is being inflated */
  private inbox: Frame[] = [];
  private pumping = false;
  readonly maxSendFrame: number;

  onStream?: (s: SpdyStream) => void;
  /** the session ended; err is set when it ended on a protocol or transport error */
  onClose?: (err?: Error) => void;
  /** the transport drained or a window opened: writers may resume */
  onDrain?: () => void;

  constructor(
    private readonly transport: SpdyTransport,
    o: SessionOptions = {},
  ) {
    this.parser = new FrameParser({ maxFrameBytes: o.maxFrameBytes });
    this.maxSendFrame = o.maxSendFrame ?? 32 * 1024;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** bytes from the transport */
  receive(chunk: Buffer): void {
    if (this.closedFlag) return;
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    if (DEBUG) for (const f of frames) process.stderr.write(`SPDY< ${JSON.stringify(f).slice(0, 200)}\n`);
    this.inbox.push(...frames);
    void this.pump();
  }

  /** the transport ended underneath us */
  transportClosed(err?: Error): void {
    this.finish(err);
  }

  /** bytes the transport still holds */
  transportBuffered(): number {
    return this.transport.buffered();
  }

  /** the transport can take more: flush queued stream data */
  transportDrained(): void {
    if (this.closedFlag) return;
    this.onDrain?.();
  }

  /** close gracefully: GOAWAY(OK), then the transport */
  close(): void {
    if (this.closedFlag) return;
    this.sendFrame({ type: 'goaway', lastGoodStreamId: this.lastRemoteId, status: GoawayStatus.OK });
    this.finish();
    this.transport.close();
  }

  /** end the session on a protocol error: GOAWAY(PROTOCOL_ERROR), close the transport */
  fail(err: Error): void {
    if (this.closedFlag) return;
    this.sendFrame({
      type: 'goaway',
      lastGoodStreamId: this.lastRemoteId,
      status: err instanceof SpdyProtocolError ? GoawayStatus.PROTOCOL_ERROR : GoawayStatus.INTERNAL_ERROR,
    });
    this.finish(err);
    this.transport.close(err);
  }

  /** @internal */
  sendFrame(f: Frame): void {
    if (this.closedFlag) return;
    if (DEBUG) process.stderr.write(`SPDY> ${JSON.stringify(f).slice(0, 200)}\n`);
    this.transport.write(encodeFrame(f));
  }

  /** @internal how many bytes a stream may send now */
  sendAllowance(s: SpdyStream): number {
    if (!this.peerFlowControl) return Number.MAX_SAFE_INTEGER;
    return Math.min(s.sendWindow, this.sessionSendWindow);
  }

  /** @internal */
  consumeSessionWindow(n: number): void {
    this.sessionSendWindow -= n;
  }

  /** @internal */
  dropStream(s: SpdyStream, reason: 'done' | 'reset' | 'session'): void {
    if (this.streams.get(s.id) === s) this.streams.delete(s.id);
    s.markClosed(reason);
    if (this.goneAway && !this.streams.size) this.close();
  }

  private finish(err?: Error): void {
    if (this.closedFlag) return;
    if (DEBUG) process.stderr.write(`SPDY finish ${err?.stack}\n`);
    this.closedFlag = true;
    this.inbox = [];
    this.decompressor.close();
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const s of all) s.markClosed('session');
    this.onClose?.(err);
  }

  /** Resolves once every frame received so far has been handled (header inflation is asynchronous). */
  async idle(): Promise<void> {
    while ((this.pumping || this.inbox.length) && !this.closedFlag) await new Promise((r) => setTimeout(r, 1));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbox.length && !this.closedFlag) {
        const f = this.inbox.shift()!;
        await this.handle(f);
      }
    } catch (e) {
      this.fail(e as Error);
    } finally {
      this.pumping = false;
    }
  }

  private async handle(f: Frame): Promise<void> {
    switch (f.type) {
      case 'syn_stream': {
        // the header block must be inflated even when the stream is refused: the zlib context is shared
        const headers = await this.decompressor.decompress(f.headerBlock);
        if (this.closedFlag) return;
        if (f.streamId % 2 !== 1 || f.streamId <= this.lastRemoteId) {
          throw new SpdyProtocolError(`SYN_STREAM with invalid stream id ${f.streamId} (last ${this.lastRemoteId})`);
        }
        this.lastRemoteId = f.streamId;
        if (this.goneAway) {
          this.sendFrame({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.REFUSED_STREAM });
          return;
        }
        const s = new SpdyStream(f.streamId, this, this.initialWindow);
        s.headers = headers;
        this.streams.set(s.id, s);
        if (f.flags & FLAG_UNIDIRECTIONAL) s.localEnded = true;
        if (this.onStream) this.onStream(s);
        else s.reset(RstStatus.REFUSED_STREAM);
        if (f.flags & FLAG_FIN && !s.closed) s.receiveFin();
        return;
      }
      case 'syn_reply':
      case 'headers': {
        await this.decompressor.decompress(f.headerBlock);
        if (f.type === 'syn_reply') {
          // we never open streams, so a reply is for a stream that does not exist
          this.sendFrame({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.INVALID_STREAM });
          return;
        }
        const s = this.streams.get(f.streamId);
        if (s && f.flags & FLAG_FIN) s.receiveFin();
        return;
      }
      case 'data': {
        this.sessionUnacked += f.data.length;
        if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
          this.sendFrame({ type: 'window_update', streamId: 0, delta: this.sessionUnacked });
          this.sessionUnacked = 0;
        }
        const s = this.streams.get(f.streamId);
        if (!s) {
          // data for a stream that was never opened is an error; for one already closed it is a late frame
          if (f.streamId > this.lastRemoteId || f.streamId % 2 === 0)
            this.sendFrame({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.INVALID_STREAM });
          return;
        }
        if (s.remoteEnded) {
          s.reset(RstStatus.STREAM_ALREADY_CLOSED);
          return;
        }
        s.receiveData(f.data, (f.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'rst_stream': {
        const s = this.streams.get(f.streamId);
        if (s) this.dropStream(s, 'reset');
        return;
      }
      case 'settings': {
        for (const e of f.entries) {
          if (e.id !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
          if (e.value > MAX_WINDOW) throw new SpdyProtocolError(`initial window ${e.value} too large`);
          const delta = e.value - this.initialWindow;
          this.initialWindow = e.value;
          this.peerFlowControl = true;
          for (const s of this.streams.values()) s.sendWindow += delta;
        }
        this.flushAll();
        return;
      }
      case 'ping':
        // odd ids are the client's: echo them; even ids would be answers to our pings (we send none)
        if (f.id % 2 === 1) this.sendFrame({ type: 'ping', id: f.id });
        return;
      case 'goaway':
        this.goneAway = true;
        if (!this.streams.size) this.close();
        return;
      case 'window_update': {
        if (f.delta === 0) throw new SpdyProtocolError('WINDOW_UPDATE with delta 0');
        this.peerFlowControl = true;
        if (f.streamId === 0) {
          this.sessionSendWindow += f.delta;
          if (this.sessionSendWindow > MAX_WINDOW) throw new SpdyProtocolError('session window overflow');
          this.flushAll();
        } else {
          const s = this.streams.get(f.streamId);
          if (!s) return;
          s.sendWindow += f.delta;
          if (s.sendWindow > MAX_WINDOW) {
            s.reset(RstStatus.FLOW_CONTROL_ERROR);
            return;
          }
          s.flush();
          this.onDrain?.();
        }
        return;
      }
      case 'unknown':
        return; // spec: ignore unknown control frames
    }
  }

  private flushAll(): void {
    for (const s of [...this.streams.values()]) s.flush();
    this.onDrain?.();
  }
}
