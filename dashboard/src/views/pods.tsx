// The pods table (phase, ready, restarts, age, node, IP; delete), shared by the workload views.
import { useState } from 'preact/hooks';
import { del } from '../api.js';
import { Badge, ErrorNote, phaseTone, Table } from '../components.js';
import { useNow } from '../hooks.js';
import { age, formatRoute, podSummary } from '../logic.js';
import type { Pod } from '../types.js';

export function PodTable(props: { pods: Pod[]; ns: string; testid?: string }) {
  const now = useNow();
  const [error, setError] = useState<string>();
  const remove = async (p: Pod) => {
    if (!confirm(`Delete pod ${p.metadata.namespace}/${p.metadata.name}?`)) return;
    setError(undefined);
    try {
      await del(
        `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace ?? '')}/pods/${encodeURIComponent(p.metadata.name ?? '')}`,
      );
    } catch (e) {
      setError(`delete ${p.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const pods = [...props.pods].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  return (
    <>
      <ErrorNote error={error} />
      <Table
        head={['Name', 'Namespace', 'Ready', 'Status', 'Restarts', 'Age', 'Node', 'IP', '']}
        testid={props.testid ?? 'pods'}
        count={pods.length}
        empty="No pods."
      >
        {pods.map((p) => {
          const s = podSummary(p);
          const href = formatRoute({
            view: 'pod',
            ns: props.ns,
            pod: { namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' },
          });
          return (
            <tr key={p.metadata.uid} data-pod={p.metadata.name}>
              <td>
                <a href={href}>{p.metadata.name}</a>
              </td>
              <td>{p.metadata.namespace}</td>
              <td>{s.ready}</td>
              <td>
                <Badge tone={phaseTone(s.phase)}>{s.phase}</Badge>
              </td>
              <td>{s.restarts}</td>
              <td>{age(p.metadata.creationTimestamp, now)}</td>
              <td>{p.spec?.nodeName ?? <span class="muted">&lt;none&gt;</span>}</td>
              <td>{p.status?.podIP ?? ''}</td>
              <td>
                <button type="button" class="small danger" onClick={() => remove(p)} title="Delete pod">
                  Delete
                </button>
              </td>
            </tr>
          );
        })}
      </Table>
    </>
  );
}
