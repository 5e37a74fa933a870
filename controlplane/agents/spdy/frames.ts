// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 plus the 3.1 session window):
// frame encode/decode, an incremental parser that copes with frames split across
// chunks, and the header-block codec. Header blocks travel zlib-compressed with the
// SPDY/3 dictionary in ONE zlib stream per direction for the whole session.
import { constants as zc, createInflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes */
export const GoawayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export const SETTINGS_INITIAL_WINDOW_SIZE = 7;
export const DEFAULT_WINDOW = 64 * 1024;

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      assocStreamId: number;
      priority: number;
      slot: number;
      flags: number;
      headerBlock: Buffer;
    }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  /** unknown control frame types are decoded (and then ignored, as the spec asks) */
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

const MAX_LENGTH = 0xffffff;

function control(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_LENGTH) throw new RangeError('SPDY frame payload too large');
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE((((flags & 0xff) << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

const u31 = (n: number) => (n & 0x7fffffff) >>> 0;

export function encodeFrame(f: Frame): Buffer {
  switch (f.type) {
    case 'data': {
      if (f.data.length > MAX_LENGTH) throw new RangeError('SPDY frame payload too large');
      const h = Buffer.alloc(8);
      h.writeUInt32BE(u31(f.streamId), 0);
      h.writeUInt32BE((((f.flags & 0xff) << 24) | f.data.length) >>> 0, 4);
      return Buffer.concat([h, f.data]);
    }
    case 'syn_stream': {
      const p = Buffer.alloc(10);
      p.writeUInt32BE(u31(f.streamId), 0);
      p.writeUInt32BE(u31(f.assocStreamId), 4);
      p[8] = (f.priority & 0x7) << 5;
      p[9] = f.slot & 0xff;
      return control(FrameType.SYN_STREAM, f.flags, Buffer.concat([p, f.headerBlock]));
    }
    case 'syn_reply':
    case 'headers': {
      const p = Buffer.alloc(4);
      p.writeUInt32BE(u31(f.streamId), 0);
      return control(
        f.type === 'syn_reply' ? FrameType.SYN_REPLY : FrameType.HEADERS,
        f.flags,
        Buffer.concat([p, f.headerBlock]),
      );
    }
    case 'rst_stream': {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(u31(f.streamId), 0);
      p.writeUInt32BE(f.status >>> 0, 4);
      return control(FrameType.RST_STREAM, 0, p);
    }
    case 'settings': {
      const p = Buffer.alloc(4 + 8 * f.entries.length);
      p.writeUInt32BE(f.entries.length, 0);
      f.entries.forEach((e, i) => {
        p.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
        p.writeUInt32BE(e.value >>> 0, 8 + i * 8);
      });
      return control(FrameType.SETTINGS, f.flags, p);
    }
    case 'ping': {
      const p = Buffer.alloc(4);
      p.writeUInt32BE(f.id >>> 0, 0);
      return control(FrameType.PING, 0, p);
    }
    case 'goaway': {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(u31(f.lastGoodStreamId), 0);
      p.writeUInt32BE(f.status >>> 0, 4);
      return control(FrameType.GOAWAY, 0, p);
    }
    case 'window_update': {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(u31(f.streamId), 0);
      p.writeUInt32BE(u31(f.delta), 4);
      return control(FrameType.WINDOW_UPDATE, 0, p);
    }
    case 'unknown':
      return control(f.frameType, f.flags, f.payload);
  }
}

function need(p: Buffer, n: number, what: string): void {
  if (p.length < n) throw new SpdyProtocolError(`${what} frame too short (${p.length} bytes)`);
}

function exact(p: Buffer, n: number, what: string): void {
  if (p.length !== n) throw new SpdyProtocolError(`${what} frame has length ${p.length}, want ${n}`);
}

function decodeControl(type: number, flags: number, p: Buffer): Frame {
  switch (type) {
    case FrameType.SYN_STREAM:
      need(p, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream',
        streamId: u31(p.readUInt32BE(0)),
        assocStreamId: u31(p.readUInt32BE(4)),
        priority: p[8]! >> 5,
        slot: p[9]!,
        flags,
        headerBlock: p.subarray(10),
      };
    case FrameType.SYN_REPLY:
    case FrameType.HEADERS:
      need(p, 4, type === FrameType.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS');
      return {
        type: type === FrameType.SYN_REPLY ? 'syn_reply' : 'headers',
        streamId: u31(p.readUInt32BE(0)),
        flags,
        headerBlock: p.subarray(4),
      };
    case FrameType.RST_STREAM:
      exact(p, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: u31(p.readUInt32BE(0)), status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      need(p, 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      if (p.length !== 4 + n * 8)
        throw new SpdyProtocolError(`SETTINGS frame with ${n} entries has length ${p.length}`);
      const entries = [];
      for (let i = 0; i < n; i++) {
        const w = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, entries };
    }
    case FrameType.PING:
      exact(p, 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      exact(p, 8, 'GOAWAY');
      return { type: 'goaway', lastGoodStreamId: u31(p.readUInt32BE(0)), status: p.readUInt32BE(4) };
    case FrameType.WINDOW_UPDATE:
      exact(p, 8, 'WINDOW_UPDATE');
      return { type: 'window_update', streamId: u31(p.readUInt32BE(0)), delta: u31(p.readUInt32BE(4)) };
    default:
      return { type: 'unknown', frameType: type, flags, payload: p };
  }
}

export interface ParserOptions {
  /** biggest frame payload accepted; larger is a protocol error (default 1 MiB) */
  maxFrameBytes?: number;
}

/** incremental frame parser: push() chunks as they come, get whole frames back; throws SpdyProtocolError on garbage */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private readonly max: number;

  constructor(o: ParserOptions = {}) {
    this.max = o.maxFrameBytes ?? 1024 * 1024;
  }

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    for (;;) {
      if (this.buf.length < 8) break;
      const w0 = this.buf.readUInt32BE(0);
      const w1 = this.buf.readUInt32BE(4);
      const flags = w1 >>> 24;
      const len = w1 & 0xffffff;
      const isControl = (w0 & 0x80000000) !== 0;
      if (isControl) {
        const version = (w0 >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION)
          throw new SpdyProtocolError(`unsupported SPDY version ${version} (control frame type ${w0 & 0xffff})`);
      } else if ((w0 & 0x7fffffff) === 0) {
        throw new SpdyProtocolError('DATA frame on stream 0');
      }
      if (len > this.max) throw new SpdyProtocolError(`frame of ${len} bytes exceeds the limit of ${this.max}`);
      if (this.buf.length < 8 + len) break;
      const payload = Buffer.from(this.buf.subarray(8, 8 + len)); // copy: the caller may keep it
      this.buf = this.buf.subarray(8 + len);
      out.push(
        isControl
          ? decodeControl(w0 & 0xffff, flags, payload)
          : { type: 'data', streamId: w0 & 0x7fffffff, flags, data: payload },
      );
    }
    return out;
  }

  /** bytes held back waiting for the rest of a frame */
  get pending(): number {
    return this.buf.length;
  }
}

// ---- header blocks ----

export type Headers = Record<string, string>;

/** serialise a name/value block (uncompressed); names are lowercased, as SPDY requires */
export function encodeHeaderBlock(h: Headers): Buffer {
  const entries = Object.entries(h);
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(entries.length);
  parts.push(n);
  for (const [k, v] of entries) {
    for (const s of [k.toLowerCase(), v]) {
      const b = Buffer.from(s, 'utf8');
      const l = Buffer.alloc(4);
      l.writeUInt32BE(b.length);
      parts.push(l, b);
    }
  }
  return Buffer.concat(parts);
}

/**
 * parse one name/value block from the front of buf: the block and the bytes it used,
 * or undefined when buf holds only part of it. Values with NULs (multi-valued) are
 * joined with ', '. Throws on impossible lengths.
 */
export function decodeHeaderBlock(buf: Buffer, maxBytes = 256 * 1024): { headers: Headers; used: number } | undefined {
  let off = 0;
  const u32 = (): number | undefined => {
    if (buf.length < off + 4) return undefined;
    const v = buf.readUInt32BE(off);
    off += 4;
    return v;
  };
  const str = (): string | undefined => {
    const l = u32();
    if (l === undefined) return undefined;
    if (l > maxBytes) throw new SpdyProtocolError(`header string of ${l} bytes`);
    if (buf.length < off + l) return undefined;
    const s = buf.toString('utf8', off, off + l);
    off += l;
    return s;
  };
  const n = u32();
  if (n === undefined) return undefined;
  if (n > maxBytes / 8) throw new SpdyProtocolError(`header block claims ${n} pairs`);
  const headers: Headers = {};
  for (let i = 0; i < n; i++) {
    const k = str();
    if (k === undefined) return undefined;
    const v = str();
    if (v === undefined) return undefined;
    if (!k.length) throw new SpdyProtocolError('empty header name');
    const val = v.split('\0').join(', ');
    headers[k.toLowerCase()] = headers[k.toLowerCase()] !== undefined ? `${headers[k.toLowerCase()]}, ${val}` : val;
  }
  return { headers, used: off };
}

/**
 * The sending side's header compressor. It writes a valid zlib stream of *stored*
 * (uncompressed) deflate blocks, each header block ending exactly like a Z_SYNC_FLUSH
 * (byte aligned, then an empty stored block): any SPDY peer's persistent inflater
 * (with or without the dictionary) reads it. That keeps sending synchronous; our header blocks are tiny.
 */
const SYNC_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

export class HeaderCompressor {
  private started = false;

  compress(h: Headers): Buffer {
    const raw = encodeHeaderBlock(h);
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      parts.push(Buffer.from([0x78, 0x01])); // CMF deflate/32K window, FLG: no dict, check bits (0x7801 % 31 == 0)
    }
    for (let off = 0; off < raw.length; off += 0xffff) {
      const piece = raw.subarray(off, off + 0xffff);
      const hdr = Buffer.alloc(5);
      hdr[0] = 0; // BFINAL=0, BTYPE=00 (stored)
      hdr.writeUInt16LE(piece.length, 1);
      hdr.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(hdr, piece);
    }
    // the empty stored block a Z_SYNC_FLUSH ends with: Go's inflater only hands out
    // a block's bytes once it sees this marker (without it, it reads on into the
    // next frame and fails)
    parts.push(SYNC_MARKER);
    return Buffer.concat(parts);
  }
}

/**
 * The receiving side's header decompressor: one persistent zlib inflate context with
 * the SPDY/3 dictionary. decompress() takes one frame's compressed block and resolves
 * with the parsed headers; calls must be made in frame order (the session serialises).
 */
export class HeaderDecompressor {
  private z: Inflate;
  private out: Buffer[] = [];
  private outBytes = 0;
  private failed?: Error;

  constructor(private readonly maxBytes = 256 * 1024) {
    this.z = createInflate({ dictionary: SPDY3_DICTIONARY });
    this.z.on('data', (d: Buffer) => {
      this.out.push(d);
      this.outBytes += d.length;
      if (this.outBytes > this.maxBytes && !this.failed) {
        this.failed = new SpdyProtocolError(`header block inflates to more than ${this.maxBytes} bytes`);
        this.z.destroy();
      }
    });
    this.z.on('error', (e: Error) => {
      this.failed ??= e;
    });
    this.z.on('close', () => {
      this.failed ??= new Error('decompressor closed');
      const r = this.pendingReject;
      this.pendingReject = undefined;
      r?.(new SpdyProtocolError(`header decompression failed: ${this.failed.message}`));
    });
  }

  private pendingReject?: (e: Error) => void;

  decompress(block: Buffer): Promise<Headers> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(new SpdyProtocolError(`header decompression failed: ${this.failed.message}`));
      this.pendingReject = reject;
      this.z.write(block);
      this.z.flush(zc.Z_SYNC_FLUSH, () => {
        // let any data events queued on the tick land before looking
        setImmediate(() => {
          if (this.pendingReject !== reject) return; // already rejected
          this.pendingReject = undefined;
          if (this.failed) return reject(new SpdyProtocolError(`header decompression failed: ${this.failed.message}`));
          const raw = Buffer.concat(this.out);
          this.out = [];
          this.outBytes = 0;
          try {
            const r = decodeHeaderBlock(raw, this.maxBytes);
            if (!r) throw new SpdyProtocolError('truncated header block');
            if (r.used !== raw.length) throw new SpdyProtocolError('trailing bytes after header block');
            resolve(r.headers);
          } catch (e) {
            this.failed = e as Error;
            reject(e);
          }
        });
      });
    });
  }

  close(): void {
    this.z.destroy();
  }
}
