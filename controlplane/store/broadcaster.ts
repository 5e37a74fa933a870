// Fans one source of events out to many subscribers by key prefix (kine's
// pkg/broadcaster, in-process). A subscriber that throws is dropped, never the writer.
// Subscribers are grouped by prefix: an event is checked against each distinct prefix
// once (a few dozen), not against every subscriber (1000 agents watch the pods prefix).

export interface Subscription {
  readonly closed: boolean;
  close(): void;
}

interface Sub<T> { prefix: string; fn: (ev: T) => void; closed: boolean }

export class Broadcaster<T> {
  private byPrefix = new Map<string, Set<Sub<T>>>();
  private n = 0;

  subscribe(prefix: string, fn: (ev: T) => void): Subscription {
    const s: Sub<T> = { prefix, fn, closed: false };
    let set = this.byPrefix.get(prefix);
    if (!set) this.byPrefix.set(prefix, set = new Set());
    set.add(s);
    this.n++;
    return {
      get closed() { return s.closed; },
      close: () => this.drop(s),
    };
  }

  private drop(s: Sub<T>): void {
    s.closed = true;
    const set = this.byPrefix.get(s.prefix);
    if (!set?.delete(s)) return;
    this.n--;
    if (!set.size) this.byPrefix.delete(s.prefix);
  }

  publish(key: string, ev: T): void {
    for (const [prefix, set] of this.byPrefix) {
      if (!key.startsWith(prefix)) continue;
      for (const s of set) {
        try {
          s.fn(ev);
        } catch {
          this.drop(s);
        }
      }
    }
  }

  get count(): number {
    return this.n;
  }

  closeAll(): void {
    for (const set of this.byPrefix.values()) for (const s of set) s.closed = true;
    this.byPrefix.clear();
    this.n = 0;
  }
}
