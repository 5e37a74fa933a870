// Preact hooks over api.ts: a watched collection as a component's state, a clock for ages,
// node metrics (fetched every 15 s: metrics.k8s.io has no watch).
import { useEffect, useState } from 'preact/hooks';
import { collection, request, type Snapshot } from './api.js';
import type { KubeObject, List, NodeMetrics } from './types.js';

/** a live collection (null: none); re-subscribes when the path changes */
export function useCollection<T extends KubeObject>(path: string | null): Snapshot<T> {
  const [snap, setSnap] = useState<Snapshot<T>>({ items: [], synced: false });
  useEffect(() => {
    if (!path) {
      setSnap({ items: [], synced: true });
      return undefined;
    }
    const c = collection<T>(path);
    setSnap(c.get());
    const off = c.subscribe(() => setSnap(c.get()));
    return off;
  }, [path]);
  return snap;
}

/** now, moving every `ms` (ages in tables) */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/**
 * NodeMetrics by node name. The only periodic request of the dashboard: metrics.k8s.io
 * serves get/list but no watch, and agents report every 10 s.
 */
export function useNodeMetrics(): { byNode: Map<string, NodeMetrics>; error?: string } {
  const [state, setState] = useState<{ byNode: Map<string, NodeMetrics>; error?: string }>({ byNode: new Map() });
  useEffect(() => {
    let stopped = false;
    const ac = new AbortController();
    const load = async () => {
      try {
        const l = await request<List<NodeMetrics>>(
          'GET',
          '/apis/metrics.k8s.io/v1beta1/nodes',
          undefined,
          undefined,
          ac.signal,
        );
        if (!stopped) setState({ byNode: new Map((l.items ?? []).map((m) => [m.metadata.name ?? '', m])) });
      } catch (e) {
        if (!stopped) setState((s) => ({ byNode: s.byNode, error: e instanceof Error ? e.message : String(e) }));
      }
    };
    void load();
    const t = setInterval(load, 15_000);
    return () => {
      stopped = true;
      ac.abort();
      clearInterval(t);
    };
  }, []);
  return state;
}
