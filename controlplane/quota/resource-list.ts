// ResourceList arithmetic as k8s.io/apiserver/pkg/quota/v1/resources.go does it (Add,
// Subtract, Mask, LessThanOrEqual, RemoveZeros, Equals) over quantity strings, with
// resource.Quantity's rules for the result's format: a sum keeps the first non-zero
// operand's format (BinarySI "Mi" stays binary) and prints canonically ("1000m" -> "1").
import { isValidQuantity, scaledValue } from '../../proto/quantity.js';
import { formatBytes, formatDecimalSI } from '../../proto/quantity.js';

export type ResourceList = Record<string, string>;
type Format = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

interface Q {
  nanos: bigint;
  format: Format;
}

const NANO = 1_000_000_000n;

function formatOf(s: string): Format {
  if (/[KMGTPE]i$/.test(s)) return 'BinarySI';
  if (/[eE][+-]?\d+$/.test(s)) return 'DecimalExponent';
  return 'DecimalSI';
}

function parse(v: unknown): Q {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '0';
  if (!isValidQuantity(s)) return { nanos: 0n, format: 'DecimalSI' };
  return { nanos: scaledValue(s, -9), format: formatOf(s) };
}

function print(q: Q): string {
  if (q.format === 'BinarySI') {
    const abs = q.nanos < 0n ? -q.nanos : q.nanos;
    // CanonicalizeBytes: under 1024 and fractional values print as DecimalSI
    if (abs >= 1024n * NANO && q.nanos % NANO === 0n) return formatBytes(Number(q.nanos / NANO));
  }
  if (q.format === 'DecimalExponent') {
    const si = formatDecimalSI(q.nanos, -9);
    const m = /^(-?\d+)([a-zA-Z]?)$/.exec(si);
    const exp: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
    if (m && m[2]! in exp) return exp[m[2]!] === 0 ? m[1]! : `${m[1]}e${exp[m[2]!]}`;
  }
  return formatDecimalSI(q.nanos, -9);
}

/** a quantity string in resource.Quantity's canonical form */
export function canonical(v: unknown): string {
  return print(parse(v));
}

/** exact value in nano-units, for comparisons */
export function nanosOf(v: unknown): bigint {
  return parse(v).nanos;
}

function addQ(a: Q, b: Q): Q {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

/** a copy of a ResourceList with every value canonical; non-objects give {} */
export function toList(v: unknown): ResourceList {
  const out: ResourceList = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, q] of Object.entries(v as Record<string, unknown>)) out[k] = canonical(q);
  return out;
}

export function add(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) out[k] = k in b ? print(addQ(parse(v), parse(b[k]))) : canonical(v);
  for (const [k, v] of Object.entries(b)) if (!(k in out)) out[k] = canonical(v);
  return out;
}

/** quota.SubtractWithNonNegativeResult */
export function subtractNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) {
    const qa = parse(v);
    const n = k in b ? qa.nanos - parse(b[k]).nanos : qa.nanos;
    out[k] = print({ nanos: n > 0n ? n : 0n, format: qa.format });
  }
  for (const k of Object.keys(b)) if (!(k in out)) out[k] = '0';
  return out;
}

export function mask(list: ResourceList, names: Iterable<string>): ResourceList {
  const keep = new Set(names);
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(list)) if (keep.has(k)) out[k] = v;
  return out;
}

/** quota.LessThanOrEqual: every resource of `a` that `b` has is <=; returns the resources that are not */
export function lessThanOrEqual(a: ResourceList, b: ResourceList): { ok: boolean; exceeded: string[] } {
  const exceeded: string[] = [];
  for (const [k, v] of Object.entries(a)) {
    if (k in b && parse(v).nanos > parse(b[k]).nanos) exceeded.push(k);
  }
  return { ok: exceeded.length === 0, exceeded };
}

export function removeZeros(list: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(list)) if (parse(v).nanos !== 0n) out[k] = v;
  return out;
}

export function isNegative(list: ResourceList): string[] {
  return Object.entries(list)
    .filter(([, v]) => parse(v).nanos < 0n)
    .map(([k]) => k);
}

/** quota.Equals: same keys, equal values */
export function equals(a: ResourceList, b: ResourceList): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && parse(a[k]).nanos === parse(b[k]).nanos);
}

/** prettyPrint of the admission errors: sorted `name=value` joined by "," */
export function prettyPrint(list: ResourceList): string {
  return Object.keys(list)
    .sort()
    .map((k) => `${k}=${canonical(list[k])}`)
    .join(',');
}
