import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { FRAGMENT_BYTES, FragmentingSender } from '../../controlplane/agents/fragmenting-sender.js';

/** a real server-side socket (what the sender wraps) and the client that reads it */
async function pair(): Promise<{ server: WebSocket; client: WebSocket; received: string[]; close(): void }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: string[] = [];
  client.on('message', (d, binary) => {
    expect(binary).toBe(false);
    received.push(String(d));
  });
  await new Promise((r) => client.once('open', r));
  const server = await accepted;
  return {
    server,
    client,
    received,
    close: () => {
      client.terminate();
      wss.close();
    },
  };
}

/** the frames ws was asked to write: their sizes and fin flags */
function spyFrames(ws: WebSocket): { bytes: number; fin: boolean }[] {
  const frames: { bytes: number; fin: boolean }[] = [];
  const send = ws.send.bind(ws);
  ws.send = ((data: string | Buffer, opts: { fin?: boolean }, cb?: (err?: Error) => void) => {
    frames.push({ bytes: Buffer.byteLength(data), fin: opts?.fin !== false });
    return send(data, opts, cb);
  }) as typeof ws.send;
  return frames;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

describe('FragmentingSender', () => {
  it('sends a small message as one frame', async () => {
    const p = await pair();
    cleanup = p.close;
    const frames = spyFrames(p.server);
    new FragmentingSender(p.server).send('{"type":"small"}');
    await until(() => p.received.length === 1);
    expect(p.received).toEqual(['{"type":"small"}']);
    expect(frames).toEqual([{ bytes: 16, fin: true }]);
  });

  it('cuts a large message into fragments the agent receives as one message, in order with the others', async () => {
    const p = await pair();
    cleanup = p.close;
    const frames = spyFrames(p.server);
    const out = new FragmentingSender(p.server);
    const large = JSON.stringify({ type: 'network', nodes: 'é'.repeat(50_000) }); // multi-byte: cut inside characters
    const buffered = Buffer.from(JSON.stringify({ type: 'pods', pods: 'x'.repeat(40_000) }));
    out.send('{"n":1}');
    out.send(large);
    expect(out.bufferedBytes).toBeGreaterThan(0);
    out.send('{"n":2}'); // waits behind the fragments
    out.send(buffered);
    out.send('{"n":3}');
    await until(() => p.received.length === 5);
    expect(p.received).toEqual(['{"n":1}', large, '{"n":2}', buffered.toString(), '{"n":3}']);
    expect(Math.max(...frames.map((f) => f.bytes))).toBe(FRAGMENT_BYTES);
    // 100,032 bytes: six full fragments and the rest, the last with fin
    const largeFrames = frames.slice(1, 1 + Math.ceil(Buffer.byteLength(large) / FRAGMENT_BYTES));
    expect(largeFrames.map((f) => f.fin)).toEqual([false, false, false, false, false, false, true]);
    await until(() => out.bufferedBytes === 0);
  });

  it('stops at a closed socket and drops what waits', async () => {
    const p = await pair();
    cleanup = p.close;
    const out = new FragmentingSender(p.server, 1024);
    out.send('y'.repeat(100_000));
    out.send('z'.repeat(100_000));
    p.server.terminate();
    await until(() => p.server.readyState === p.server.CLOSED);
    await new Promise((r) => setTimeout(r, 20));
    expect(out.bufferedBytes).toBe(0);
    out.send('{"after":"close"}'); // no throw: ws reports a closed socket to its callback
  });
});
