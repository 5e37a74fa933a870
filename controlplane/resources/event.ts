// core/v1 Event: the namespace/involvedObject consistency check of legacy events, the
// `kubectl get events` row (LAST SEEN, TYPE, REASON, OBJECT "pod/x", ...) and the
// involvedObject.* field selectors `kubectl describe` relies on.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { parseTime, since } from './age.js';
import { col, nameColumn } from './columns.js';
import { isDNS1123Subdomain, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

function validateEvent(obj: KubeObject): StatusCause[] {
  const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const ns = obj.metadata?.namespace ?? '';
  const involvedNs = obj.involvedObject?.namespace ?? '';
  // "New" events carry eventTime; legacy ones must agree with their object's namespace.
  if (parseTime(obj.eventTime) === undefined) {
    if (!involvedNs) {
      if (ns && ns !== 'default')
        out.push(field.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    } else if (ns !== involvedNs) {
      out.push(field.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
  } else {
    if (!obj.reportingComponent) out.push(field.required('reportingComponent'));
    if (!obj.action) out.push(field.required('action'));
  }
  if (ns) for (const m of isDNS1123Subdomain(ns)) out.push(field.invalid('namespace', ns, m));
  return out;
}

function eventRow(obj: KubeObject, now: number): unknown[] {
  let first = since(obj.firstTimestamp, now);
  if (parseTime(obj.firstTimestamp) === undefined) first = since(obj.eventTime, now);
  let last = parseTime(obj.lastTimestamp) === undefined ? first : since(obj.lastTimestamp, now);
  let count: number = typeof obj.count === 'number' ? obj.count : 0;
  if (obj.series) {
    last = since(obj.series.lastObservedTime, now);
    count = obj.series.count ?? 0;
  } else if (count === 0) {
    count = 1; // singleton events from the events/v1 API carry no count
  }
  const io = obj.involvedObject ?? {};
  const kind = String(io.kind ?? '').toLowerCase();
  const target = io.name ? `${kind}/${io.name}` : kind;
  const component = obj.source?.component || obj.reportingComponent || '';
  const host = obj.source?.host || obj.reportingInstance || '';
  const source = host ? `${component}, ${host}` : component;
  return [
    last,
    obj.type ?? '',
    obj.reason ?? '',
    target,
    io.fieldPath ?? '',
    source,
    String(obj.message ?? '').trim(),
    first,
    count,
    obj.metadata?.name ?? '',
  ];
}

const s = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export const event: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  resource: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'Event',

  validate: validateEvent,

  columns: [
    col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
    col(
      'Reason',
      'string',
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col('Object', 'string', 'The object that this event is about.'),
    col(
      'Subobject',
      'string',
      'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
      1,
    ),
    col('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1),
    col('Message', 'string', 'A human-readable description of the status of this operation.'),
    col(
      'First Seen',
      'string',
      'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
      1,
    ),
    col('Count', 'string', 'The number of times this event has occurred.', 1),
    nameColumn(1),
  ],
  row: eventRow,

  fields: {
    'involvedObject.kind': (o) => s(o.involvedObject?.kind),
    'involvedObject.namespace': (o) => s(o.involvedObject?.namespace),
    'involvedObject.name': (o) => s(o.involvedObject?.name),
    'involvedObject.uid': (o) => s(o.involvedObject?.uid),
    'involvedObject.apiVersion': (o) => s(o.involvedObject?.apiVersion),
    'involvedObject.resourceVersion': (o) => s(o.involvedObject?.resourceVersion),
    'involvedObject.fieldPath': (o) => s(o.involvedObject?.fieldPath),
    reason: (o) => s(o.reason),
    reportingComponent: (o) => s(o.reportingComponent),
    source: (o) => s(o.source?.component),
    type: (o) => s(o.type),
  },
};
