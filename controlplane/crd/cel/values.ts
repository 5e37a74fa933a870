// A custom resource's JSON as CEL sees it (apiextensions' UnstructuredToVal): integers are
// CEL ints (bigint), `number` fields doubles, object properties under their escaped CEL names
// (`x-y` → `x__dash__y`), the root's metadata reduced to name and generateName.
import { additionalSchema, isRecord, type JSONSchemaProps } from '../schema-types.js';
import { celName } from './shape.js';
import { isCelError, parse, plan } from '@bufbuild/cel';
import { celEnvironment } from './library.js';

/** date, date-time and duration strings are CEL timestamps and durations (made by CEL itself) */
let conv: { ts: ReturnType<typeof plan>; dur: ReturnType<typeof plan> } | undefined;
function temporal(format: string, v: string): unknown {
  conv ??= { ts: plan(celEnvironment(), parse('timestamp(s)')), dur: plan(celEnvironment(), parse('duration(s)')) };
  const text = format === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
  const r = format === 'duration' ? conv.dur({ s: text }) : conv.ts({ s: text });
  return isCelError(r) ? v : r;
}

export function toCel(s: JSONSchemaProps | undefined, v: unknown, root = false): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    if (s?.type === 'number') return v;
    return Number.isInteger(v) ? BigInt(v) : v;
  }
  if (
    typeof v === 'string' &&
    s?.type === 'string' &&
    (s.format === 'date-time' || s.format === 'date' || s.format === 'duration')
  )
    return temporal(s.format, v);
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const items = s && isRecord(s.items) ? s.items : undefined;
    return v.map((x) => toCel(items, x));
  }
  const rec = v as Record<string, unknown>;
  if (!s) return Object.fromEntries(Object.entries(rec).map(([k, x]) => [k, toCel(undefined, x)]));
  const add = additionalSchema(s);
  if (add) return Object.fromEntries(Object.entries(rec).map(([k, x]) => [k, toCel(add, x)]));
  const props = isRecord(s.properties) ? s.properties : {};
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(rec)) {
    if (root && k === 'metadata') {
      const m = isRecord(x) ? x : {};
      const meta: Record<string, unknown> = {};
      if (typeof m.name === 'string') meta.name = m.name;
      if (typeof m.generateName === 'string') meta.generateName = m.generateName;
      out.metadata = meta;
      continue;
    }
    const name = Object.hasOwn(props, k) || root ? celName(k) : k;
    if (name) out[name] = toCel(Object.hasOwn(props, k) ? props[k] : undefined, x);
  }
  return out;
}
