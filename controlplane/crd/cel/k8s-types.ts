// Kubernetes' CEL quantity and URL libraries (apiserver/pkg/cel/library/quantity.go and
// urls.go). @bufbuild/cel has no custom object types without protobuf descriptors, so a
// Quantity or URL value is a map marked with `@quantity` / `@url` (a key no CEL field
// selection can reach) and the methods check the mark.
import { celFunc, celMethod, CelScalar, mapType, type CelFunc } from '@bufbuild/cel';
import {
  compareQuantities,
  formatDecimalSI,
  isValidQuantity,
  parseQuantity,
  scaledValue,
} from '../../../proto/quantity.js';

const QTY = '@quantity';
const URL_MARK = '@url';
const MAP = mapType(CelScalar.STRING, CelScalar.DYN);
type Marked = { get(k: string): unknown };

function quantityOf(m: Marked): string {
  const q = m.get(QTY);
  if (typeof q !== 'string') throw new Error('no such overload');
  return q;
}
const quantity = (s: string) => {
  if (!isValidQuantity(s))
    throw new Error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  return { [QTY]: s };
};
const nano = (s: string): bigint => scaledValue(s, -9);
const other = (x: unknown): string =>
  typeof x === 'bigint'
    ? String(x)
    : isMarked(x)
      ? quantityOf(x)
      : (() => {
          throw new Error('no such overload');
        })();
function isMarked(x: unknown): x is Marked {
  return typeof x === 'object' && x !== null && typeof (x as { get?: unknown }).get === 'function';
}

const quantities: CelFunc[] = [
  celFunc('quantity', [CelScalar.STRING], CelScalar.DYN, (s) => quantity(s)),
  celFunc('isQuantity', [CelScalar.STRING], CelScalar.BOOL, (s) => isValidQuantity(s)),
  celMethod('isLessThan', MAP, [CelScalar.DYN], CelScalar.BOOL, function (x) {
    return compareQuantities(quantityOf(this), other(x)) < 0;
  }),
  celMethod('isGreaterThan', MAP, [CelScalar.DYN], CelScalar.BOOL, function (x) {
    return compareQuantities(quantityOf(this), other(x)) > 0;
  }),
  celMethod('compareTo', MAP, [CelScalar.DYN], CelScalar.INT, function (x) {
    return BigInt(compareQuantities(quantityOf(this), other(x)));
  }),
  celMethod('sign', MAP, [], CelScalar.INT, function () {
    return BigInt(compareQuantities(quantityOf(this), '0'));
  }),
  celMethod('isInteger', MAP, [], CelScalar.BOOL, function () {
    return nano(quantityOf(this)) % 1_000_000_000n === 0n;
  }),
  celMethod('asInteger', MAP, [], CelScalar.INT, function () {
    const n = nano(quantityOf(this));
    if (n % 1_000_000_000n !== 0n) throw new Error('cannot convert value to integer');
    return n / 1_000_000_000n;
  }),
  celMethod('asApproximateFloat', MAP, [], CelScalar.DOUBLE, function () {
    return parseQuantity(quantityOf(this));
  }),
  celMethod('add', MAP, [CelScalar.DYN], CelScalar.DYN, function (x) {
    return { [QTY]: formatDecimalSI(nano(quantityOf(this)) + nano(other(x)), -9) };
  }),
  celMethod('sub', MAP, [CelScalar.DYN], CelScalar.DYN, function (x) {
    return { [QTY]: formatDecimalSI(nano(quantityOf(this)) - nano(other(x)), -9) };
  }),
];

function urlOf(m: Marked): URL {
  const u = m.get(URL_MARK);
  if (typeof u !== 'string') throw new Error('no such overload');
  return new URL(u);
}
/** url.ParseRequestURI: an absolute URL or an absolute path */
const parses = (s: string): boolean => {
  if (s.startsWith('/')) return true;
  try {
    return !!new URL(s).protocol;
  } catch {
    return false;
  }
};

const urls: CelFunc[] = [
  celFunc('url', [CelScalar.STRING], CelScalar.DYN, (s) => {
    if (!parses(s))
      throw new Error(`URL parse error during conversion from string: parse "${s}": invalid URI for request`);
    return { [URL_MARK]: s.startsWith('/') ? `relative:${s}` : s };
  }),
  celFunc('isURL', [CelScalar.STRING], CelScalar.BOOL, (s) => parses(s)),
  celMethod('getScheme', MAP, [], CelScalar.STRING, function () {
    const u = urlOf(this);
    return u.protocol === 'relative:' ? '' : u.protocol.replace(/:$/, '');
  }),
  celMethod('getHost', MAP, [], CelScalar.STRING, function () {
    const u = urlOf(this);
    return u.protocol === 'relative:' ? '' : u.host;
  }),
  celMethod('getHostname', MAP, [], CelScalar.STRING, function () {
    const u = urlOf(this);
    return u.protocol === 'relative:' ? '' : u.hostname.replace(/^\[(.*)\]$/, '$1');
  }),
  celMethod('getPort', MAP, [], CelScalar.STRING, function () {
    return urlOf(this).port;
  }),
  celMethod('getEscapedPath', MAP, [], CelScalar.STRING, function () {
    return urlOf(this).pathname;
  }),
  celMethod('getQuery', MAP, [], MAP, function () {
    const q: Record<string, string[]> = {};
    for (const [k, v] of urlOf(this).searchParams) (q[k] ??= []).push(v);
    return q;
  }),
];

export const k8sTypes: CelFunc[] = [...quantities, ...urls];
export const K8S_TYPE_FUNCTIONS = [
  'quantity',
  'isQuantity',
  'isLessThan',
  'isGreaterThan',
  'compareTo',
  'sign',
  'isInteger',
  'asInteger',
  'asApproximateFloat',
  'add',
  'sub',
  'url',
  'isURL',
  'getScheme',
  'getHost',
  'getHostname',
  'getPort',
  'getEscapedPath',
  'getQuery',
];
