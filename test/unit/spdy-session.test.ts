// The server-side SPDY session against a scripted client: stream open/reply, data
// both ways with FIN, flow control (windows honoured once the peer does flow control,
// WINDOW_UPDATE for what we consume), PING, RST, and garbage ending the session.
import { describe, expect, it } from 'vitest';
import {
  FLAG_FIN,
  FrameParser,
  HeaderCompressor,
  HeaderDecompressor,
  encodeFrame,
  type Frame,
  type Headers,
} from '../../controlplane/agents/spdy/frames.js';
import { SpdySession, type SpdyStream } from '../../controlplane/agents/spdy/session.js';

function setup() {
  const out = new FrameParser({ maxFrameBytes: 16 * 1024 * 1024 });
  const sent: Frame[] = [];
  let closedWith: Error | undefined | null = null;
  const session = new SpdySession({
    write: (b) => sent.push(...out.push(b)),
    buffered: () => 0,
    close: (err) => {
      closedWith = err;
    },
  });
  const streams: SpdyStream[] = [];
  session.onStream = (s) => {
    streams.push(s);
    s.reply();
  };
  const comp = new HeaderCompressor();
  const client = {
    send: (f: Frame) => session.receive(encodeFrame(f)),
    open: (id: number, h: Headers, flags = 0) =>
      session.receive(
        encodeFrame({
          type: 'syn_stream',
          streamId: id,
          assocStreamId: 0,
          priority: 0,
          slot: 0,
          flags,
          headerBlock: comp.compress(h),
        }),
      ),
  };
  const settle = () => session.idle();
  return { session, sent, streams, client, settle, closed: () => closedWith };
}

const dataOut = (sent: Frame[], id: number) =>
  Buffer.concat(
    sent
      .filter((f): f is Extract<Frame, { type: 'data' }> => f.type === 'data' && f.streamId === id)
      .map((f) => f.data),
  );

describe('SpdySession', () => {
  it('opens streams with their headers, replies, and moves data both ways with FIN half-close', async () => {
    const t = setup();
    t.client.open(1, { streamtype: 'data', port: '8080', requestid: '0' });
    await t.settle();
    expect(t.streams).toHaveLength(1);
    const s = t.streams[0]!;
    expect(s.headers).toEqual({ streamtype: 'data', port: '8080', requestid: '0' });
    const reply = t.sent.find((f) => f.type === 'syn_reply')!;
    expect(reply).toMatchObject({ streamId: 1, flags: 0 });
    // the reply's header block inflates (with a fresh peer-side inflater) to no headers
    expect(
      await new HeaderDecompressor().decompress((reply as Extract<Frame, { type: 'syn_reply' }>).headerBlock),
    ).toEqual({});
    const got: Buffer[] = [];
    let ended = false;
    let closed = '';
    s.ondata = (d) => got.push(d);
    s.onend = () => {
      ended = true;
    };
    s.onclose = (r) => {
      closed = r;
    };
    t.client.send({ type: 'data', streamId: 1, flags: 0, data: Buffer.from('GET / ') });
    t.client.send({ type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.from('HTTP/1.0') });
    await t.settle();
    expect(Buffer.concat(got).toString()).toBe('GET / HTTP/1.0');
    expect(ended).toBe(true);
    s.write(Buffer.from('hello'));
    s.end();
    expect(dataOut(t.sent, 1).toString()).toBe('hello');
    expect(t.sent[t.sent.length - 1]).toEqual({ type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(0) });
    expect(closed).toBe('done');
    expect(t.session.streamCount).toBe(0);
  });

  it('sends freely to a peer without flow control (like spdystream), in frames of at most 32 KiB', async () => {
    const t = setup();
    t.client.open(1, { streamtype: 'data' });
    await t.settle();
    const big = Buffer.alloc(300 * 1024, 7);
    t.streams[0]!.write(big);
    expect(dataOut(t.sent, 1).length).toBe(big.length);
    for (const f of t.sent) if (f.type === 'data') expect(f.data.length).toBeLessThanOrEqual(32 * 1024);
  });

  it('honours the peer windows once it does flow control, and resumes on WINDOW_UPDATE', async () => {
    const t = setup();
    t.client.send({ type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 65536 }] });
    t.client.open(1, { streamtype: 'data' });
    t.client.open(3, { streamtype: 'data' });
    await t.settle();
    const [a, b] = t.streams as [SpdyStream, SpdyStream];
    a.write(Buffer.alloc(100_000, 1));
    expect(dataOut(t.sent, 1).length).toBe(65536); // stream and session window both 64 KiB
    expect(a.queued).toBe(100_000 - 65536);
    b.write(Buffer.alloc(10, 2));
    expect(dataOut(t.sent, 3).length).toBe(0); // the session window is used up
    t.client.send({ type: 'window_update', streamId: 1, delta: 50_000 });
    await t.settle();
    expect(dataOut(t.sent, 1).length).toBe(65536); // still no session window
    t.client.send({ type: 'window_update', streamId: 0, delta: 1_000_000 });
    await t.settle();
    expect(dataOut(t.sent, 1).length).toBe(100_000);
    expect(dataOut(t.sent, 3).length).toBe(10);
    expect(a.queued).toBe(0);
  });

  it("sends WINDOW_UPDATE (stream and session) as it consumes the peer's data", async () => {
    const t = setup();
    t.client.open(1, { streamtype: 'data' });
    await t.settle();
    let n = 0;
    t.streams[0]!.ondata = (d) => {
      n += d.length;
    };
    for (let i = 0; i < 8; i++) t.client.send({ type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(16 * 1024) });
    await t.settle();
    expect(n).toBe(128 * 1024);
    const wu = t.sent.filter((f): f is Extract<Frame, { type: 'window_update' }> => f.type === 'window_update');
    const per = (id: number) => wu.filter((f) => f.streamId === id).reduce((x, f) => x + f.delta, 0);
    expect(per(1)).toBe(128 * 1024);
    expect(per(0)).toBe(128 * 1024);
  });

  it('answers client PINGs, handles RST_STREAM, and refuses data for streams never opened', async () => {
    const t = setup();
    t.client.send({ type: 'ping', id: 1 });
    t.client.open(1, { streamtype: 'data' });
    await t.settle();
    let why = '';
    t.streams[0]!.onclose = (r) => {
      why = r;
    };
    t.client.send({ type: 'rst_stream', streamId: 1, status: 5 });
    t.client.send({ type: 'data', streamId: 9, flags: 0, data: Buffer.from('x') });
    await t.settle();
    expect(t.sent).toContainEqual({ type: 'ping', id: 1 });
    expect(why).toBe('reset');
    expect(t.sent).toContainEqual({ type: 'rst_stream', streamId: 9, status: 2 });
    expect(t.closed()).toBeNull();
  });

  it('ends the session with GOAWAY(PROTOCOL_ERROR) on garbage, closing its streams', async () => {
    const t = setup();
    t.client.open(1, { streamtype: 'data' });
    await t.settle();
    let why = '';
    t.streams[0]!.onclose = (r) => {
      why = r;
    };
    let sessionErr: Error | undefined;
    t.session.onClose = (e) => {
      sessionErr = e;
    };
    t.session.receive(Buffer.from('\x80\x02\x00\x01garbage', 'latin1'));
    expect(t.sent[t.sent.length - 1]).toEqual({ type: 'goaway', lastGoodStreamId: 1, status: 1 });
    expect(sessionErr?.message).toMatch(/unsupported SPDY version 2/);
    expect(t.closed()).toBe(sessionErr);
    expect(why).toBe('session');
    // nothing more is accepted or sent
    const n = t.sent.length;
    t.client.send({ type: 'ping', id: 3 });
    expect(t.sent.length).toBe(n);
  });

  it('ends the session when a header block does not inflate, or stream ids go backwards', async () => {
    const t = setup();
    let err: Error | undefined;
    t.session.onClose = (e) => {
      err = e;
    };
    t.session.receive(
      encodeFrame({
        type: 'syn_stream',
        streamId: 1,
        assocStreamId: 0,
        priority: 0,
        slot: 0,
        flags: 0,
        headerBlock: Buffer.from('not zlib at all'),
      }),
    );
    await t.settle();
    expect(err?.message).toMatch(/header decompression failed/);

    const u = setup();
    let err2: Error | undefined;
    u.session.onClose = (e) => {
      err2 = e;
    };
    u.client.open(3, { a: '1' });
    u.client.open(1, { a: '2' });
    await u.settle();
    expect(err2?.message).toMatch(/invalid stream id 1/);
  });
});
