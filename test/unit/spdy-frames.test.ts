// The SPDY/3.1 framer: frame round trips, partial frames across chunks, garbage,
// header blocks (uncompressed codec, our stored-block compressor, and inflating
// real zlib output made with the SPDY/3 dictionary in one shared context).
import { constants as zc, createDeflate, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SPDY3_DICTIONARY } from '../../controlplane/agents/spdy/dictionary.js';
import {
  FLAG_FIN,
  FrameParser,
  HeaderCompressor,
  HeaderDecompressor,
  SpdyProtocolError,
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  type Frame,
} from '../../controlplane/agents/spdy/frames.js';

function adler32(b: Buffer): number {
  let a = 1;
  let c = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    c = (c + a) % 65521;
  }
  return ((c << 16) | a) >>> 0;
}

const frames: Frame[] = [
  { type: 'data', streamId: 5, flags: FLAG_FIN, data: Buffer.from('hello') },
  { type: 'data', streamId: 0x7fffffff, flags: 0, data: Buffer.alloc(0) },
  {
    type: 'syn_stream',
    streamId: 1,
    assocStreamId: 0,
    priority: 3,
    slot: 0,
    flags: 0,
    headerBlock: Buffer.from([1, 2, 3]),
  },
  { type: 'syn_reply', streamId: 3, flags: FLAG_FIN, headerBlock: Buffer.from([9]) },
  { type: 'headers', streamId: 3, flags: 0, headerBlock: Buffer.alloc(0) },
  { type: 'rst_stream', streamId: 7, status: 5 },
  {
    type: 'settings',
    flags: 1,
    entries: [
      { flags: 0, id: 7, value: 65536 },
      { flags: 1, id: 4, value: 100 },
    ],
  },
  { type: 'ping', id: 0xfffffffe },
  { type: 'goaway', lastGoodStreamId: 9, status: 1 },
  { type: 'window_update', streamId: 0, delta: 0x7fffffff },
  { type: 'unknown', frameType: 42, flags: 0, payload: Buffer.from('x') },
];

describe('SPDY/3 dictionary', () => {
  it('is the 1423 bytes of the spec', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(SPDY3_DICTIONARY.subarray(0, 11)).toEqual(Buffer.from([0, 0, 0, 7, ...Buffer.from('options')]));
    expect(SPDY3_DICTIONARY.toString('latin1')).toContain('\x00\x00\x00\x08HTTP/1.1\x00\x00\x00\x03url');
    expect(SPDY3_DICTIONARY.subarray(-7).toString()).toBe(',enq=0.');
  });
});

describe('SPDY frames', () => {
  it('encode/decode round trips every frame type', () => {
    for (const f of frames) {
      const p = new FrameParser();
      const out = p.push(encodeFrame(f));
      expect(out).toEqual([f]);
      expect(p.pending).toBe(0);
    }
  });

  it('puts the control bit, version 3, type, flags and length where the spec says', () => {
    const b = encodeFrame({ type: 'ping', id: 1 });
    expect([...b]).toEqual([0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]);
    const d = encodeFrame({ type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('ab') });
    expect([...d]).toEqual([0, 0, 0, 3, 1, 0, 0, 2, 0x61, 0x62]);
  });

  it('reassembles frames split across chunks, byte by byte, and several in one chunk', () => {
    const all = Buffer.concat(frames.map(encodeFrame));
    const p = new FrameParser();
    const got: Frame[] = [];
    for (let i = 0; i < all.length; i++) got.push(...p.push(all.subarray(i, i + 1)));
    expect(got).toEqual(frames);
    const q = new FrameParser();
    expect(q.push(all)).toEqual(frames);
    // odd split points
    const r = new FrameParser();
    const got2 = [...r.push(all.subarray(0, 13)), ...r.push(all.subarray(13, 50)), ...r.push(all.subarray(50))];
    expect(got2).toEqual(frames);
  });

  it('rejects garbage: wrong version, oversize frames, data on stream 0, bad control lengths', () => {
    expect(() => new FrameParser().push(Buffer.from([0x80, 0x02, 0, 1, 0, 0, 0, 0]))).toThrow(SpdyProtocolError);
    expect(() => new FrameParser().push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toThrow(/exceeds the limit/);
    expect(() => new FrameParser().push(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/stream 0/);
    expect(() => new FrameParser().push(Buffer.from([0x80, 0x03, 0, 6, 0, 0, 0, 2, 0, 1]))).toThrow(/PING/);
    expect(() => new FrameParser().push(Buffer.from([0x80, 0x03, 0, 4, 0, 0, 0, 4, 0, 0, 0, 9]))).toThrow(/SETTINGS/);
    expect(() =>
      new FrameParser({ maxFrameBytes: 10 }).push(
        encodeFrame({ type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(11) }),
      ),
    ).toThrow(SpdyProtocolError);
  });
});

describe('SPDY header blocks', () => {
  const h = { streamtype: 'data', port: '8080', requestid: '0' };

  it('encodes and decodes the name/value block; partial blocks decode to undefined', () => {
    const raw = encodeHeaderBlock({ StreamType: 'error', port: '1' });
    expect(decodeHeaderBlock(raw)).toEqual({ headers: { streamtype: 'error', port: '1' }, used: raw.length });
    for (let i = 0; i < raw.length; i++) expect(decodeHeaderBlock(raw.subarray(0, i))).toBeUndefined();
    // multi-valued (NUL separated)
    expect(decodeHeaderBlock(encodeHeaderBlock({ a: 'x\0y' }))!.headers).toEqual({ a: 'x, y' });
    const bad = Buffer.alloc(8);
    bad.writeUInt32BE(0xffffffff, 0);
    expect(() => decodeHeaderBlock(bad)).toThrow(SpdyProtocolError);
  });

  it('our compressor writes one zlib stream of stored blocks any inflater reads, block by block', () => {
    const c = new HeaderCompressor();
    const b1 = c.compress(h);
    const b2 = c.compress({ a: 'b' });
    expect(b1.subarray(0, 2)).toEqual(Buffer.from([0x78, 0x01]));
    // every block ends with the sync-flush marker, as Go's spdy framer needs
    for (const b of [b1, b2]) expect(b.subarray(-5)).toEqual(Buffer.from([0, 0, 0, 0xff, 0xff]));
    expect(b2.subarray(0, 5)).toEqual(Buffer.from([0, b2.length - 10, 0, ~(b2.length - 10) & 0xff, 0xff]));
    const one = inflateSync(b1, { finishFlush: zc.Z_SYNC_FLUSH });
    expect(decodeHeaderBlock(one)!.headers).toEqual(h);
    const both = inflateSync(Buffer.concat([b1, b2]), { finishFlush: zc.Z_SYNC_FLUSH, dictionary: SPDY3_DICTIONARY });
    const first = decodeHeaderBlock(both)!;
    expect(first.headers).toEqual(h);
    expect(decodeHeaderBlock(both.subarray(first.used))!.headers).toEqual({ a: 'b' });
  });

  it('inflates blocks deflated with the SPDY/3 dictionary in one shared zlib context (as Go does)', async () => {
    // a peer's compressor: one deflate stream, Z_SYNC_FLUSH after each header block
    const z = createDeflate({ dictionary: SPDY3_DICTIONARY });
    const chunks: Buffer[] = [];
    z.on('data', (d: Buffer) => chunks.push(d));
    const block = (hdrs: Record<string, string>) =>
      new Promise<Buffer>((res) => {
        z.write(encodeHeaderBlock(hdrs));
        z.flush(zc.Z_SYNC_FLUSH, () => setImmediate(() => res(Buffer.concat(chunks.splice(0)))));
      });
    const blocks = [];
    for (let i = 0; i < 5; i++)
      blocks.push(await block({ ...h, requestid: String(i), streamtype: i % 2 ? 'data' : 'error' }));
    // FDICT set, and the dictionary id is adler32(dictionary)
    expect(blocks[0]![1]! & 0x20).toBe(0x20);
    expect(blocks[0]!.readUInt32BE(2)).toBe(adler32(SPDY3_DICTIONARY));
    // later blocks reuse the history, so they are small
    expect(blocks[4]!.length).toBeLessThan(blocks[0]!.length);
    const d = new HeaderDecompressor();
    for (let i = 0; i < 5; i++) {
      expect(await d.decompress(blocks[i]!)).toEqual({
        ...h,
        requestid: String(i),
        streamtype: i % 2 ? 'data' : 'error',
      });
    }
    d.close();
    z.destroy();
  });

  it('fails on a block made with the wrong dictionary, or on junk', async () => {
    const wrong = await new Promise<Buffer>((res) => {
      const z = createDeflate({ dictionary: Buffer.from('not the spdy dictionary') });
      const out: Buffer[] = [];
      z.on('data', (x: Buffer) => out.push(x));
      z.write(encodeHeaderBlock(h));
      z.flush(zc.Z_SYNC_FLUSH, () =>
        setImmediate(() => {
          res(Buffer.concat(out));
          z.destroy();
        }),
      );
    });
    await expect(new HeaderDecompressor().decompress(wrong)).rejects.toThrow(SpdyProtocolError);
    await expect(new HeaderDecompressor().decompress(Buffer.from('garbage!garbage!'))).rejects.toThrow(
      SpdyProtocolError,
    );
  });
});
