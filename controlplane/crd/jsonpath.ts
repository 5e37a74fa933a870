// The JSONPath subset of additionalPrinterColumns and selectableFields (client-go's
// util/jsonpath as CRDs use it): `.spec.replicas`, `.items[0].name`, `.a[*].b`,
// `.status.conditions[?(@.type=="Ready")].status`, `.metadata.labels.app\.kubernetes\.io/name`.
import { isRecord } from './schema-types.js';

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'filter'; path: string[]; op: '==' | '!='; value: string };

export class JsonPathError extends Error {}

/** parses a path; throws JsonPathError on what client-go's parser refuses */
export function parseJsonPath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (!s.startsWith('.')) throw new JsonPathError(`must be a simple json path starting with .`);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      i++;
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') {
        if (s[i] === '\\' && i + 1 < s.length) {
          name += s[i + 1];
          i += 2;
          continue;
        }
        name += s[i++];
      }
      if (name) steps.push({ kind: 'field', name });
    } else if (c === '[') {
      const end = s.indexOf(']', i);
      if (end < 0) throw new JsonPathError('unterminated array');
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else {
        const m = /^\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(-?[\w.]+))\)$/.exec(inner);
        if (!m) throw new JsonPathError(`unrecognized array index ${inner}`);
        steps.push({
          kind: 'filter',
          path: m[1]!.slice(1).split('.'),
          op: m[2] as '==' | '!=',
          value: m[3] ?? m[4] ?? m[5] ?? '',
        });
      }
    } else {
      throw new JsonPathError(`unrecognized character in action: ${c}`);
    }
  }
  return steps;
}

function dig(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const p of path) cur = isRecord(cur) ? cur[p] : undefined;
  return cur;
}

/** every value the path finds (none: empty) */
export function findResults(obj: unknown, steps: Step[]): unknown[] {
  let cur: unknown[] = [obj];
  for (const st of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (st.kind === 'field') {
        if (isRecord(v) && Object.hasOwn(v, st.name)) next.push(v[st.name]);
      } else if (st.kind === 'index') {
        if (Array.isArray(v)) {
          const i = st.index < 0 ? v.length + st.index : st.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (st.kind === 'all') {
        if (Array.isArray(v)) next.push(...v);
        else if (isRecord(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const x of v) {
          const got = dig(x, st.path);
          const text = got === undefined ? undefined : typeof got === 'string' ? got : JSON.stringify(got);
          if (text === undefined) continue;
          if ((text === st.value) === (st.op === '==')) next.push(x);
        }
      }
    }
    cur = next;
  }
  return cur;
}

/** the text client-go's PrintResults writes for one value */
export function printValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
