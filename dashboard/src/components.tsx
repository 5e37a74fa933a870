// Small shared pieces of the views: bars, badges, tables that scroll on a phone, errors.
import type { ComponentChildren } from 'preact';

export function Bar(props: { label: string; value: number; detail: string; kind?: 'req' | 'use'; testid?: string }) {
  const level = props.value >= 90 ? 'hot' : props.value >= 70 ? 'warm' : '';
  return (
    <div class="bar" data-testid={props.testid}>
      <div class="bar-label">
        <span>{props.label}</span>
        <span class="muted">{props.detail}</span>
      </div>
      <div class={`bar-track ${props.kind ?? 'req'}`}>
        <div class={`bar-fill ${level}`} style={{ width: `${props.value}%` }} />
      </div>
    </div>
  );
}

export function Badge(props: { tone: 'ok' | 'warn' | 'bad' | 'info'; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge ${props.tone}`} title={props.title}>
      {props.children}
    </span>
  );
}

export function phaseTone(phase: string): 'ok' | 'warn' | 'bad' | 'info' {
  if (phase === 'Running' || phase === 'Succeeded' || phase === 'Completed') return 'ok';
  if (phase === 'Pending' || phase === 'ContainerCreating' || phase === 'Terminating' || phase.startsWith('Init:'))
    return 'warn';
  if (phase === 'Unknown') return 'info';
  return 'bad';
}

export function Table(props: {
  head: string[];
  children: ComponentChildren;
  testid?: string;
  empty?: string;
  count: number;
}) {
  return (
    <div class="table-wrap">
      <table data-testid={props.testid}>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
      {props.count === 0 && <p class="muted empty">{props.empty ?? 'None.'}</p>}
    </div>
  );
}

export function ErrorNote(props: { error?: string }) {
  return props.error ? (
    <p class="error" role="alert">
      {props.error}
    </p>
  ) : null;
}

export function Loading(props: { synced: boolean }) {
  return props.synced ? null : <p class="muted">Loading…</p>;
}
