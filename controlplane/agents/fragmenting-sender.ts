// Messages to one agent, with the large ones cut into WebSocket fragments of FRAGMENT_BYTES,
// each written once the one before it has left (RFC 6455 §5.4: the agent's ws receives
// one message, as before). Why: Node's TLS keeps the buffers a write grew to for the life of
// the connection. Measured with 1000 idle TLS WebSocket connections in one process
// (2026-12-06, Node 20): 63 KB each; after one 80 KB message each (the network state at
// 1000 nodes), 183 KB each; the same message in 16 KiB fragments written one after the
// other, 96 KB each. Small messages, the usual case, go straight to the socket when
// nothing is being fragmented; while a message is, later ones wait behind it (frames of
// two messages must not interleave).
import type { WebSocket } from 'ws';

/** the largest frame written at once: one TLS record */
export const FRAGMENT_BYTES = 16 * 1024;

type Payload = string | Buffer;

const byteLength = (p: Payload): number => (typeof p === 'string' ? Buffer.byteLength(p) : p.length);

export class FragmentingSender {
  private readonly queue: Payload[] = [];
  private queuedBytes = 0;
  /** a fragmented message is on its way: what is sent meanwhile waits in the queue */
  private busy = false;
  /** the fragmented message's bytes not yet handed to the socket */
  private unsent = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly fragmentBytes = FRAGMENT_BYTES,
  ) {}

  /** bytes not yet written to the socket: waiting here and in the socket's own buffer */
  get bufferedBytes(): number {
    return this.queuedBytes + this.unsent + this.ws.bufferedAmount;
  }

  /** a text message (JSON) */
  send(data: Payload): void {
    const bytes = byteLength(data);
    if (!this.busy && bytes <= this.fragmentBytes) {
      this.ws.send(data, { binary: false });
      return;
    }
    this.queue.push(data);
    this.queuedBytes += bytes;
    if (!this.busy) this.next();
  }

  /** drop what waits (the connection is closing) */
  clear(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  /** send what waits, in order: small messages whole, a large one fragment by fragment */
  private next(): void {
    let buf: Buffer | undefined;
    while (!buf) {
      const head = this.queue.shift();
      if (head === undefined) {
        this.busy = false;
        return;
      }
      const bytes = byteLength(head);
      this.queuedBytes -= bytes;
      if (bytes > this.fragmentBytes) buf = typeof head === 'string' ? Buffer.from(head) : head;
      else this.ws.send(head, { binary: false });
    }
    this.busy = true;
    const message = buf;
    let offset = 0;
    this.unsent = message.length;
    const fragment = (err?: Error): void => {
      if (err || this.ws.readyState !== this.ws.OPEN) {
        // the socket is gone: nothing more will be written to it
        this.clear();
        this.unsent = 0;
        this.busy = false;
        return;
      }
      if (offset >= message.length) {
        this.next();
        return;
      }
      const chunk = message.subarray(offset, offset + this.fragmentBytes);
      offset += chunk.length;
      this.unsent = message.length - offset;
      this.ws.send(chunk, { binary: false, fin: offset >= message.length }, fragment);
    };
    fragment();
  }
}
