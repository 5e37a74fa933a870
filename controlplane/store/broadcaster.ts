// Fans one source of events out to many subscribers by key prefix (kine's
// pkg/broadcaster, in-process). A subscriber that throws is dropped, never the writer.

export interface Subscription {
  readonly closed: boolean;
  close(): void;
}

interface Sub<T> { prefix: string; fn: (ev: T) => void; closed: boolean }

export class Broadcaster<T> {
  private subs = new Set<Sub<T>>();

  subscribe(prefix: string, fn: (ev: T) => void): Subscription {
    const s: Sub<T> = { prefix, fn, closed: false };
    this.subs.add(s);
    return {
      get closed() { return s.closed; },
      close: () => { s.closed = true; this.subs.delete(s); },
    };
  }

  publish(key: string, ev: T): void {
    for (const s of this.subs) {
      if (!key.startsWith(s.prefix)) continue;
      try {
        s.fn(ev);
      } catch {
        s.closed = true;
        this.subs.delete(s);
      }
    }
  }

  get count(): number {
    return this.subs.size;
  }

  closeAll(): void {
    for (const s of this.subs) s.closed = true;
    this.subs.clear();
  }
}
