// The events stream, newest first, warnings highlighted.
import { collectionPath } from '../api.js';
import { ErrorNote, Loading, Table } from '../components.js';
import { useCollection, useNow } from '../hooks.js';
import { age } from '../logic.js';
import type { KubeEvent } from '../types.js';

export function eventTime(e: KubeEvent): string {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '';
}

export function EventRows(props: { events: KubeEvent[]; showObject?: boolean; limit?: number }) {
  const now = useNow();
  const list = [...props.events]
    .sort((a, b) => Date.parse(eventTime(b) || '0') - Date.parse(eventTime(a) || '0'))
    .slice(0, props.limit ?? 500);
  return (
    <Table
      head={['Last seen', 'Type', 'Reason', ...(props.showObject ? ['Object'] : []), 'Message', 'Count']}
      testid="events-table"
      count={list.length}
      empty="No events."
    >
      {list.map((e) => (
        <tr key={e.metadata.uid} class={e.type === 'Warning' ? 'warning' : ''}>
          <td>{age(eventTime(e), now)}</td>
          <td>{e.type}</td>
          <td>{e.reason}</td>
          {props.showObject && (
            <td>
              {e.involvedObject?.kind?.toLowerCase()}/{e.involvedObject?.name}
            </td>
          )}
          <td class="msg">{e.message}</td>
          <td>{e.count ?? 1}</td>
        </tr>
      ))}
    </Table>
  );
}

export function Events(props: { ns: string }) {
  const events = useCollection<KubeEvent>(collectionPath('', 'v1', 'events', props.ns));
  const warnings = events.items.filter((e) => e.type === 'Warning').length;
  return (
    <section data-testid="events">
      <p class="muted">
        {events.items.length} events
        {warnings ? (
          <>
            , <b class="warn-text">{warnings} warnings</b>
          </>
        ) : null}
      </p>
      <ErrorNote error={events.error} />
      <Loading synced={events.synced} />
      <EventRows events={events.items} showObject />
    </section>
  );
}
