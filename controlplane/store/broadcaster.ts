// Fans one source of events out to many subscribers by key prefix (kine's
// pkg/broadcaster, in-process). A subscriber that throws is dropped, never the writer.
// Subscribers are grouped by prefix: an event is checked against each distinct prefix
// once (a few dozen), not against every subscriber (1000 agents watch the pods prefix).
// A subscriber may also name a trigger (kube-apiserver's cacher indexes watchers the same
// way, by a pod's spec.nodeName): its value, and a function giving an event's values
// (the new and the previous object's field). It is called only for events with its value —
// one function call per event for the group, not one per agent. A function that cannot
// tell (returns undefined or throws) delivers the event to all of them.

export interface Subscription {
  readonly closed: boolean;
  close(): void;
}

/** an index key for a subscriber: the event reaches it only when valuesOf(ev) includes value */
export interface Trigger<T> {
  value: string;
  /** the same function for every subscriber of one index (it keys the index) */
  valuesOf(ev: T): readonly string[] | undefined;
}

interface Sub<T> {
  fn: (ev: T) => void;
  closed: boolean;
  set: Set<Sub<T>>;
  trigger?: Trigger<T>;
}

interface Group<T> {
  plain: Set<Sub<T>>;
  indexed: Map<Trigger<T>['valuesOf'], Map<string, Set<Sub<T>>>>;
  size: number;
}

export class Broadcaster<T> {
  private byPrefix = new Map<string, Group<T>>();
  private n = 0;

  subscribe(prefix: string, fn: (ev: T) => void, trigger?: Trigger<T>): Subscription {
    let g = this.byPrefix.get(prefix);
    if (!g) this.byPrefix.set(prefix, (g = { plain: new Set(), indexed: new Map(), size: 0 }));
    let set = g.plain;
    if (trigger) {
      let byValue = g.indexed.get(trigger.valuesOf);
      if (!byValue) g.indexed.set(trigger.valuesOf, (byValue = new Map()));
      set = byValue.get(trigger.value) ?? new Set();
      byValue.set(trigger.value, set);
    }
    const s: Sub<T> = { fn, closed: false, set, trigger };
    set.add(s);
    g.size++;
    this.n++;
    const group = g;
    return {
      get closed() {
        return s.closed;
      },
      close: () => this.drop(prefix, group, s),
    };
  }

  private drop(prefix: string, g: Group<T>, s: Sub<T>): void {
    const trigger = s.trigger;
    s.closed = true;
    if (!s.set.delete(s)) return;
    this.n--;
    g.size--;
    if (trigger && !s.set.size) {
      const byValue = g.indexed.get(trigger.valuesOf);
      byValue?.delete(trigger.value);
      if (byValue && !byValue.size) g.indexed.delete(trigger.valuesOf);
    }
    if (!g.size && this.byPrefix.get(prefix) === g) this.byPrefix.delete(prefix);
  }

  private deliver(g: Group<T>, set: Set<Sub<T>>, ev: T, prefix: string): void {
    for (const s of set) {
      try {
        s.fn(ev);
      } catch {
        this.drop(prefix, g, s);
      }
    }
  }

  publish(key: string, ev: T): void {
    for (const [prefix, g] of this.byPrefix) {
      if (!key.startsWith(prefix)) continue;
      if (g.plain.size) this.deliver(g, g.plain, ev, prefix);
      for (const [valuesOf, byValue] of g.indexed) {
        let values: readonly string[] | undefined;
        try {
          values = valuesOf(ev);
        } catch {
          values = undefined;
        }
        if (values === undefined) {
          for (const set of byValue.values()) this.deliver(g, set, ev, prefix);
          continue;
        }
        for (let i = 0; i < values.length; i++) {
          const v = values[i]!;
          if (values.indexOf(v) !== i) continue; // the same value twice (unchanged field): once
          const set = byValue.get(v);
          if (set?.size) this.deliver(g, set, ev, prefix);
        }
      }
    }
  }

  get count(): number {
    return this.n;
  }

  closeAll(): void {
    for (const g of this.byPrefix.values()) {
      for (const s of g.plain) s.closed = true;
      for (const byValue of g.indexed.values())
        for (const set of byValue.values()) for (const s of set) s.closed = true;
    }
    this.byPrefix.clear();
    this.n = 0;
  }
}
