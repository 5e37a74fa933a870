// Services with their type, cluster IP, ports and the endpoints behind them.
import { collectionPath } from '../api.js';
import { Badge, ErrorNote, Loading, Table } from '../components.js';
import { useCollection, useNow } from '../hooks.js';
import { age } from '../logic.js';
import type { Endpoints, Service } from '../types.js';

export function Services(props: { ns: string }) {
  const svcs = useCollection<Service>(collectionPath('', 'v1', 'services', props.ns));
  const eps = useCollection<Endpoints>(collectionPath('', 'v1', 'endpoints', props.ns));
  const now = useNow();
  const byName = new Map(eps.items.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const list = [...svcs.items].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  return (
    <section data-testid="services">
      <ErrorNote error={svcs.error ?? eps.error} />
      <Loading synced={svcs.synced} />
      <Table
        head={['Name', 'Namespace', 'Type', 'Cluster IP', 'Ports', 'Endpoints', 'Age']}
        count={list.length}
        empty="No services."
      >
        {list.map((s) => {
          const e = byName.get(`${s.metadata.namespace}/${s.metadata.name}`);
          const ready = (e?.subsets ?? []).flatMap((ss) =>
            (ss.addresses ?? []).flatMap((a) =>
              (ss.ports?.length ? ss.ports : [{ port: undefined }]).map((p) => `${a.ip}${p.port ? `:${p.port}` : ''}`),
            ),
          );
          const notReady = (e?.subsets ?? []).flatMap((ss) => (ss.notReadyAddresses ?? []).map((a) => a.ip ?? ''));
          const ports = (s.spec?.ports ?? [])
            .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
            .join(', ');
          return (
            <tr key={s.metadata.uid} data-service={s.metadata.name}>
              <td>
                <b>{s.metadata.name}</b>
              </td>
              <td>{s.metadata.namespace}</td>
              <td>{s.spec?.type ?? 'ClusterIP'}</td>
              <td>{s.spec?.clusterIP ?? ''}</td>
              <td>{ports}</td>
              <td>
                {ready.length ? (
                  ready.map((x) => (
                    <code key={x} class="ep">
                      {x}
                    </code>
                  ))
                ) : (
                  <span class="muted">&lt;none&gt;</span>
                )}
                {notReady.length > 0 && (
                  <Badge tone="warn" title={notReady.join(', ')}>
                    {notReady.length} not ready
                  </Badge>
                )}
              </td>
              <td>{age(s.metadata.creationTimestamp, now)}</td>
            </tr>
          );
        })}
      </Table>
    </section>
  );
}
