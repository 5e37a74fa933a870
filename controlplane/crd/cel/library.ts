// The CEL environment of x-kubernetes-validations: @bufbuild/cel's standard library and
// strings extension (lowerAscii, upperAscii, replace, split, trim, indexOf, lastIndexOf,
// join, substring, charAt, format), plus Kubernetes' lists library (isSorted, sum, min,
// max, indexOf, lastIndexOf), quantity/URL libraries (k8s-types.ts), isIP/isCIDR, as
// apiserver/pkg/cel/library. The regex library's find/findAll are left out: only `matches`
// runs on an RE2 engine (@bufbuild/re2), and JavaScript's RegExp could backtrack without bound.
import { isIP } from 'node:net';
import {
  celEnv,
  celFunc,
  celMethod,
  CelScalar,
  listType,
  mapType,
  type CelEnv,
  type CelFunc,
  type CelMap,
  type CelValue,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { K8S_TYPE_FUNCTIONS, k8sTypes } from './k8s-types.js';

/** an element of a CEL list */
type Item = CelValue;

function items(list: Iterable<Item>): Item[] {
  return [...list];
}

function less(a: Item, b: Item): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number'))
    return a < b;
  if (typeof a === 'string' && typeof b === 'string') return a < b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return !a && b;
  throw new Error('no such overload');
}

const extreme = (name: 'min' | 'max') =>
  function (this: Iterable<Item>): Item {
    const xs = items(this);
    if (!xs.length) throw new Error(`${name} called on empty list`);
    return xs.reduce((m, x) => (name === 'min' ? (less(x, m) ? x : m) : less(m, x) ? x : m));
  };

function sum(this: Iterable<Item>): bigint | number {
  const xs = items(this);
  if (xs.every((x) => typeof x === 'bigint')) return (xs as bigint[]).reduce((a, b) => a + b, 0n);
  let s = 0;
  for (const x of xs) {
    if (typeof x !== 'number') throw new Error('no such overload');
    s += x;
  }
  return s;
}

function equal(a: Item, b: Item): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number'))
    // biome-ignore lint/suspicious/noDoubleEquals: a bigint and a number compare by value only with == (1n == 1)
    return a == b;
  return (
    JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ===
    JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
  );
}

const LIST = listType(CelScalar.DYN);

const lists: CelFunc[] = [
  celMethod('isSorted', LIST, [], CelScalar.BOOL, function () {
    const xs = items(this);
    for (let i = 1; i < xs.length; i++) if (less(xs[i], xs[i - 1])) return false;
    return true;
  }),
  celMethod('sum', LIST, [], CelScalar.DYN, sum),
  celMethod('min', LIST, [], CelScalar.DYN, extreme('min')),
  celMethod('max', LIST, [], CelScalar.DYN, extreme('max')),
  celMethod('indexOf', LIST, [CelScalar.DYN], CelScalar.INT, function (x) {
    return BigInt(items(this).findIndex((y) => equal(x, y)));
  }),
  celMethod('lastIndexOf', LIST, [CelScalar.DYN], CelScalar.INT, function (x) {
    const xs = items(this);
    for (let i = xs.length - 1; i >= 0; i--) if (equal(x, xs[i])) return BigInt(i);
    return -1n;
  }),
];

/** IP and CIDR predicates of the ip/cidr libraries (the IP and CIDR types themselves are not built) */
const addresses: CelFunc[] = [
  celFunc(
    'isIP',
    [CelScalar.STRING],
    CelScalar.BOOL,
    (s) => isIP(s) !== 0 && !/(^|[.:])0\d/.test(s) && !/^::ffff:\d+\./i.test(s) && !s.includes('%'),
  ),
  celFunc('isCIDR', [CelScalar.STRING], CelScalar.BOOL, (s) => {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
    if (!m) return false;
    const v = isIP(m[1]);
    return v !== 0 && Number(m[2]) <= (v === 4 ? 32 : 128) && !/(^|[.:])0\d/.test(m[1]);
  }),
];

/** optionalOldSelf: oldSelf is an optional, here a marked map with hasValue/value/orValue */
export const OPTIONAL = '@optional';
export const OPTIONAL_VALUE = '@value';
export const optionalOf = (v: unknown): Record<string, unknown> =>
  v === undefined ? { [OPTIONAL]: false } : { [OPTIONAL]: true, [OPTIONAL_VALUE]: v };
const MAP = mapType(CelScalar.STRING, CelScalar.DYN);
const present = (m: CelMap): boolean => {
  const marker = m.get(OPTIONAL);
  if (typeof marker !== 'boolean') throw new Error('no such overload');
  return marker;
};
/** the optional's value; a missing one fails as @bufbuild/cel fails on an undefined result */
const optionalValue = (m: CelMap): CelValue => {
  const v = m.get(OPTIONAL_VALUE);
  if (v === undefined) throw new Error('unsupported input undefined');
  return v;
};
const optionals: CelFunc[] = [
  celMethod('hasValue', MAP, [], CelScalar.BOOL, function () {
    return present(this);
  }),
  celMethod('value', MAP, [], CelScalar.DYN, function () {
    if (!present(this)) throw new Error('optional.none() dereference');
    return optionalValue(this);
  }),
  celMethod('orValue', MAP, [CelScalar.DYN], CelScalar.DYN, function (x) {
    return present(this) ? optionalValue(this) : x;
  }),
];

let env: CelEnv | undefined;
export function celEnvironment(): CelEnv {
  env ??= celEnv({ funcs: [...strings, ...lists, ...optionals, ...k8sTypes, ...addresses] });
  return env;
}

/** every function and operator a rule may call: an unknown one is `undeclared reference` at compile time */
export const KNOWN_FUNCTIONS = new Set([
  // operators and macros' internals
  '_+_',
  '_-_',
  '_*_',
  '_/_',
  '_%_',
  '_==_',
  '_!=_',
  '_<_',
  '_<=_',
  '_>_',
  '_>=_',
  '_&&_',
  '_||_',
  '!_',
  '-_',
  '_?_:_',
  '_[_]',
  '@in',
  '@not_strictly_false',
  'in',
  // standard functions
  'size',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'int',
  'uint',
  'double',
  'string',
  'bytes',
  'bool',
  'dyn',
  'type',
  'duration',
  'timestamp',
  'getFullYear',
  'getMonth',
  'getDate',
  'getDayOfMonth',
  'getDayOfWeek',
  'getDayOfYear',
  'getHours',
  'getMinutes',
  'getSeconds',
  'getMilliseconds',
  // strings extension
  'charAt',
  'format',
  'indexOf',
  'join',
  'lastIndexOf',
  'lowerAscii',
  'replace',
  'split',
  'substring',
  'trim',
  'upperAscii',
  // Kubernetes lists and regex libraries
  'isSorted',
  'sum',
  'min',
  'max',
  // optionalOldSelf's optional
  'hasValue',
  'value',
  'orValue',
  // quantity and URL libraries
  ...K8S_TYPE_FUNCTIONS,
  'isIP',
  'isCIDR',
]);

/** Kubernetes' CEL functions skiff does not evaluate: a rule calling one is accepted with the
 *  CRD and skipped at run time (`ns.name` for namespaced ones) */
export const UNSUPPORTED_FUNCTIONS = new Set([
  'ip',
  'cidr',
  'family',
  'isUnspecified',
  'isLoopback',
  'isLinkLocalMulticast',
  'isLinkLocalUnicast',
  'isGlobalUnicast',
  'containsIP',
  'containsCIDR',
  'masked',
  'prefixLength',
  'ip.isCanonical',
  'sets.contains',
  'sets.equivalent',
  'sets.intersects',
  'math.greatest',
  'math.least',
  'math.ceil',
  'math.floor',
  'math.round',
  'math.trunc',
  'math.abs',
  'math.sign',
  'math.isInf',
  'math.isNaN',
  'math.isFinite',
  'math.bitAnd',
  'math.bitOr',
  'math.bitXor',
  'math.bitNot',
  'math.bitShiftLeft',
  'math.bitShiftRight',
  'math.sqrt',
  'find',
  'findAll',
  'base64.encode',
  'base64.decode',
  'strings.quote',
  'reverse',
  'cel.bind',
  'cel.block',
  'cel.index',
  'cel.iterVar',
  'cel.accuVar',
  'semver',
  'isSemver',
  'major',
  'minor',
  'patch',
  'optional.of',
  'optional.none',
  'optional.ofNonZeroValue',
  'or',
  'lists.range',
  'slice',
  'flatten',
  'distinct',
  'sort',
  'sortBy',
  'first',
  'last',
  'transformList',
  'transformMap',
  'transformMapEntry',
  'format.named',
]);
export const FUNCTION_NAMESPACES = new Set([
  'sets',
  'math',
  'base64',
  'strings',
  'cel',
  'optional',
  'lists',
  'format',
  'ip',
]);

/** identifiers that name types or constants rather than variables */
export const TYPE_IDENTS = new Set([
  'int',
  'uint',
  'double',
  'string',
  'bytes',
  'bool',
  'list',
  'map',
  'null_type',
  'type',
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
]);
