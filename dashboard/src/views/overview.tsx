// Overview: one card per node (Ready, roles, labels, requested vs allocatable CPU and
// memory, usage from metrics.k8s.io, pods on it), cordon/uncordon; then pod phases.
import { useEffect, useState } from 'preact/hooks';
import { patch } from '../api.js';
import { Badge, Bar, ErrorNote, Loading, phaseTone, Table } from '../components.js';
import { useCollection, useNodeMetrics, useNow } from '../hooks.js';
import {
  age,
  allocationByNode,
  bytes,
  formatRoute,
  needsAttention,
  formatBytesShort,
  formatMillicores,
  millicores,
  nodeReady,
  nodeRoles,
  percent,
  podSummary,
} from '../logic.js';
import type { Node, Pod } from '../types.js';

/** called once, when the overview first shows synced data (the first-view time) */
let firstView: (() => void) | undefined;
export function onFirstView(fn: () => void): void {
  firstView = fn;
}

export function Overview(props: { podsPath: string; ns: string }) {
  const nodes = useCollection<Node>('/api/v1/nodes');
  const pods = useCollection<Pod>(props.podsPath);
  const metrics = useNodeMetrics();
  const [actionError, setActionError] = useState<string>();
  const ready = nodes.synced && pods.synced;
  useEffect(() => {
    if (ready && firstView) {
      const f = firstView;
      firstView = undefined;
      f();
    }
  }, [ready]);
  const alloc = allocationByNode(nodes.items, pods.items);
  const now = useNow();
  const phases = new Map<string, number>();
  const attention: { p: Pod; s: ReturnType<typeof podSummary> }[] = [];
  for (const p of pods.items) {
    const s = podSummary(p);
    phases.set(s.phase, (phases.get(s.phase) ?? 0) + 1);
    if (needsAttention(s)) attention.push({ p, s });
  }
  attention.sort(
    (a, b) =>
      b.s.restarts - a.s.restarts ||
      `${a.p.metadata.namespace}/${a.p.metadata.name}`.localeCompare(`${b.p.metadata.namespace}/${b.p.metadata.name}`),
  );
  const cordon = async (n: Node, on: boolean) => {
    setActionError(undefined);
    try {
      await patch(`/api/v1/nodes/${encodeURIComponent(n.metadata.name ?? '')}`, {
        spec: { unschedulable: on ? true : null },
      });
    } catch (e) {
      setActionError(`${on ? 'cordon' : 'uncordon'} ${n.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const sorted = [...nodes.items].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  return (
    <section data-testid="overview" data-ready={ready ? 'true' : 'false'}>
      <h2>
        Nodes <span class="muted">{nodes.items.length}</span>
      </h2>
      <ErrorNote error={nodes.error ?? actionError} />
      <Loading synced={nodes.synced} />
      <div class="cards">
        {sorted.map((n) => {
          const name = n.metadata.name ?? '';
          const a = alloc.get(name)!;
          const r = nodeReady(n);
          const m = metrics.byNode.get(name);
          const cpuUse = millicores(m?.usage?.cpu);
          const memUse = bytes(m?.usage?.memory);
          const roles = nodeRoles(n);
          const labels = Object.entries(n.metadata.labels ?? {}).filter(
            ([k]) => !k.startsWith('node-role.kubernetes.io/') && !k.startsWith('beta.kubernetes.io/'),
          );
          return (
            <article class="card" key={name} data-testid={`node-${name}`}>
              <header>
                <h3>{name}</h3>
                <Badge tone={r === 'True' ? 'ok' : r === 'False' ? 'bad' : 'warn'}>
                  {r === 'True' ? 'Ready' : r === 'False' ? 'NotReady' : 'Unknown'}
                </Badge>
                {n.spec?.unschedulable && <Badge tone="warn">SchedulingDisabled</Badge>}
              </header>
              <p class="muted small">
                {[
                  roles.length ? roles.join(', ') : '<none>',
                  n.status?.nodeInfo?.kubeletVersion,
                  `${a.pods}${a.podsAllocatable ? `/${a.podsAllocatable}` : ''} pods`,
                ]
                  .filter(Boolean)
                  .join(' · ')}
              </p>
              <Bar
                label="CPU requests"
                value={percent(a.cpuRequested, a.cpuAllocatable)}
                detail={`${formatMillicores(a.cpuRequested)} / ${formatMillicores(a.cpuAllocatable)}`}
              />
              <Bar
                label="Memory requests"
                value={percent(a.memoryRequested, a.memoryAllocatable)}
                detail={`${formatBytesShort(a.memoryRequested)} / ${formatBytesShort(a.memoryAllocatable)}`}
              />
              <Bar
                kind="use"
                label="CPU usage"
                value={percent(cpuUse, a.cpuAllocatable)}
                detail={m ? formatMillicores(cpuUse) : 'no metrics'}
              />
              <Bar
                kind="use"
                label="Memory usage"
                value={percent(memUse, a.memoryAllocatable)}
                detail={m ? formatBytesShort(memUse) : 'no metrics'}
              />
              <details class="labels">
                <summary>{labels.length} labels</summary>
                <ul>
                  {labels.map(([k, v]) => (
                    <li key={k}>
                      <code>
                        {k}={v}
                      </code>
                    </li>
                  ))}
                </ul>
              </details>
              <div class="actions">
                {n.spec?.unschedulable ? (
                  <button type="button" onClick={() => cordon(n, false)}>
                    Uncordon
                  </button>
                ) : (
                  <button type="button" onClick={() => cordon(n, true)}>
                    Cordon
                  </button>
                )}
              </div>
            </article>
          );
        })}
      </div>
      <h2>
        Pods{' '}
        <span class="muted" data-testid="pod-count">
          {pods.items.length}
        </span>
      </h2>
      <ErrorNote error={pods.error} />
      <p class="phases">
        {[...phases.entries()].sort().map(([ph, c]) => (
          <span key={ph} class="phase">
            <Badge tone={phaseTone(ph)}>{c}</Badge> {ph}
          </span>
        ))}
      </p>
      {attention.length > 0 && (
        <>
          <h3>
            Needs attention <span class="muted">{attention.length}</span>
          </h3>
          <Table head={['Pod', 'Status', 'Restarts', 'Node', 'Age']} count={attention.length}>
            {attention.slice(0, 10).map(({ p, s }) => (
              <tr key={p.metadata.uid}>
                <td>
                  <a
                    href={formatRoute({
                      view: 'pod',
                      ns: props.ns,
                      pod: { namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' },
                    })}
                  >
                    {p.metadata.namespace}/{p.metadata.name}
                  </a>
                </td>
                <td>
                  <Badge tone={phaseTone(s.phase)}>{s.phase}</Badge>
                </td>
                <td>{s.restarts}</td>
                <td>{p.spec?.nodeName ?? <span class="muted">&lt;none&gt;</span>}</td>
                <td>{age(p.metadata.creationTimestamp, now)}</td>
              </tr>
            ))}
          </Table>
          {attention.length > 10 && (
            <p class="muted small">
              and {attention.length - 10} more: <a href={formatRoute({ view: 'workloads', ns: props.ns })}>Workloads</a>
            </p>
          )}
        </>
      )}
    </section>
  );
}
