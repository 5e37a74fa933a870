// Workloads, one kind at a time (the browser keeps at most six HTTP/1.1 connections per
// server and every watch holds one): Deployments with their ReplicaSets, StatefulSets,
// DaemonSets or Jobs, with desired/ready and rollout progress; scale and restart; then
// the pods of the namespace.
import { useState } from 'preact/hooks';
import { collectionPath, patch } from '../api.js';
import { Badge, Bar, ErrorNote, Loading, Table } from '../components.js';
import { useCollection, useNow } from '../hooks.js';
import { age, ownedBy, restartPatch, rolloutOf } from '../logic.js';
import type { Pod, Workload } from '../types.js';
import { PodTable } from './pods.js';

export const WORKLOAD_KINDS = [
  { kind: 'Deployment', resource: 'deployments', group: 'apps', scalable: true },
  { kind: 'StatefulSet', resource: 'statefulsets', group: 'apps', scalable: true },
  { kind: 'DaemonSet', resource: 'daemonsets', group: 'apps', scalable: false },
  { kind: 'Job', resource: 'jobs', group: 'batch', scalable: false },
] as const;

type KindInfo = (typeof WORKLOAD_KINDS)[number];

function objectPath(k: KindInfo, w: Workload): string {
  return `/apis/${k.group}/v1/namespaces/${encodeURIComponent(w.metadata.namespace ?? '')}/${k.resource}/${encodeURIComponent(w.metadata.name ?? '')}`;
}

function WorkloadRow(props: {
  k: KindInfo;
  w: Workload;
  replicaSets: Workload[];
  now: number;
  onError: (e: string | undefined) => void;
}) {
  const { k, w } = props;
  const r = rolloutOf(k.kind, w);
  const [replicas, setReplicas] = useState<string>('');
  const act = async (what: string, fn: () => Promise<unknown>) => {
    props.onError(undefined);
    try {
      await fn();
    } catch (e) {
      props.onError(`${what} ${w.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const scale = () => {
    const n = Number(replicas === '' ? r.desired : replicas);
    if (!Number.isInteger(n) || n < 0) {
      props.onError(`replicas must be a whole number ≥ 0, not ${replicas}`);
      return;
    }
    void act('scale', () => patch(`${objectPath(k, w)}/scale`, { spec: { replicas: n } }));
    setReplicas('');
  };
  const name = w.metadata.name ?? '';
  return (
    <>
      <tr data-workload={name}>
        <td>
          <b>{name}</b>
        </td>
        <td>{w.metadata.namespace}</td>
        <td data-testid="ready">
          {r.ready}/{r.desired}
        </td>
        <td class="progress">
          <Bar label="" value={r.progress} detail={r.text} />
        </td>
        <td>{age(w.metadata.creationTimestamp, props.now)}</td>
        <td>
          <div class="row-actions">
            {k.scalable && (
              <span class="scale">
                <input
                  type="number"
                  min="0"
                  inputMode="numeric"
                  aria-label={`replicas of ${name}`}
                  placeholder={String(r.desired)}
                  value={replicas}
                  onInput={(e) => setReplicas((e.target as HTMLInputElement).value)}
                />
                <button type="button" onClick={scale}>
                  Scale
                </button>
              </span>
            )}
            {k.kind !== 'Job' && (
              <button
                type="button"
                onClick={() => act('restart', () => patch(objectPath(k, w), restartPatch(new Date()), 'strategic'))}
              >
                Restart
              </button>
            )}
          </div>
        </td>
      </tr>
      {props.replicaSets.map((rs) => {
        const rr = rolloutOf('ReplicaSet', rs);
        return (
          <tr class="child" key={rs.metadata.uid}>
            <td>↳ {rs.metadata.name}</td>
            <td class="muted">ReplicaSet</td>
            <td>
              {rr.ready}/{rr.desired}
            </td>
            <td class="muted small">rev {rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? '?'}</td>
            <td>{age(rs.metadata.creationTimestamp, props.now)}</td>
            <td />
          </tr>
        );
      })}
    </>
  );
}

export function Workloads(props: { ns: string; kind: string; onKind: (k: string) => void }) {
  const k = WORKLOAD_KINDS.find((x) => x.kind === props.kind) ?? WORKLOAD_KINDS[0];
  const items = useCollection<Workload>(collectionPath(k.group, 'v1', k.resource, props.ns));
  const rs = useCollection<Workload>(
    k.kind === 'Deployment' ? collectionPath('apps', 'v1', 'replicasets', props.ns) : null,
  );
  const pods = useCollection<Pod>(collectionPath('', 'v1', 'pods', props.ns));
  const now = useNow();
  const [error, setError] = useState<string>();
  const list = [...items.items].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  return (
    <section data-testid="workloads">
      <nav class="subtabs">
        {WORKLOAD_KINDS.map((x) => (
          <button
            type="button"
            key={x.kind}
            class={x.kind === k.kind ? 'active' : ''}
            onClick={() => props.onKind(x.kind)}
          >
            {x.kind}s
          </button>
        ))}
      </nav>
      <ErrorNote error={items.error ?? error} />
      <Loading synced={items.synced} />
      <Table
        head={['Name', 'Namespace', 'Ready', 'Rollout', 'Age', '']}
        testid="workload-table"
        count={list.length}
        empty={`No ${k.kind}s.`}
      >
        {list.map((w) => (
          <WorkloadRow
            key={w.metadata.uid}
            k={k}
            w={w}
            now={now}
            onError={setError}
            replicaSets={rs.items.filter(
              (r) => ownedBy(r, w.metadata.uid) && ((r.spec?.replicas ?? 0) > 0 || (r.status?.replicas ?? 0) > 0),
            )}
          />
        ))}
      </Table>
      <h2>
        Pods <span class="muted">{pods.items.length}</span> {!pods.synced && <Badge tone="info">loading</Badge>}
      </h2>
      <ErrorNote error={pods.error} />
      <PodTable pods={pods.items} ns={props.ns} />
    </section>
  );
}
