// The compile-time pass over a parsed rule, standing in for cel-go's checker and cost
// estimator: undeclared references, undefined fields of declared objects, operand type
// mismatches, the result type, and an estimated cost (cel-go's model: 1 per call/select,
// list sizes × loop body for comprehensions, ~0.1 per character for string functions).
// The same walk with the shapes of real values gives the runtime cost charged to budgets.
import type { parse } from '@bufbuild/cel';
import { FUNCTION_NAMESPACES, KNOWN_FUNCTIONS, TYPE_IDENTS, UNSUPPORTED_FUNCTIONS } from './library.js';
import { DYN, scalar, type CelKind, type Shape } from './shape.js';

export type Expr = ReturnType<typeof parse>['expr'];

/** `atCall`: cel-go places a member call at its opening parenthesis */
export interface Issue {
  id: bigint;
  message: string;
  atCall?: boolean;
}
/** `unsupported`: Kubernetes functions the rule calls that skiff does not evaluate */
export interface Analysis {
  shape: Shape;
  cost: number;
  issues: Issue[];
  usesOldSelf: boolean;
  unsupported: string[];
}

const BOOL_FUNCS = new Set([
  'isIP',
  'isCIDR',
  '_==_',
  '_!=_',
  '_<_',
  '_<=_',
  '_>_',
  '_>=_',
  '_&&_',
  '_||_',
  '!_',
  '@in',
  '@not_strictly_false',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'isSorted',
  'isQuantity',
  'isURL',
  'isLessThan',
  'isGreaterThan',
  'isInteger',
  'hasValue',
]);
const INT_FUNCS = new Set([
  'size',
  'indexOf',
  'lastIndexOf',
  'int',
  'uint',
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
  'compareTo',
  'sign',
  'asInteger',
]);
const STRING_FUNCS = new Set([
  'string',
  'lowerAscii',
  'upperAscii',
  'replace',
  'trim',
  'join',
  'substring',
  'charAt',
  'format',
  'getScheme',
  'getHost',
  'getHostname',
  'getPort',
  'getEscapedPath',
]);
/** functions whose cost grows with the size of their receiver or first argument */
const LINEAR_STRING = new Set([
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'lowerAscii',
  'upperAscii',
  'replace',
  'split',
  'trim',
  'indexOf',
  'lastIndexOf',
  'substring',
  'string',
  'format',
  '_==_',
  '_!=_',
  '_+_',
  '_<_',
  '_<=_',
  '_>_',
  '_>=_',
]);
const LINEAR_LIST = new Set([
  '@in',
  'isSorted',
  'sum',
  'min',
  'max',
  'indexOf',
  'lastIndexOf',
  'join',
  '_==_',
  '_!=_',
  '_+_',
]);
const COMPARE = new Set(['_<_', '_<=_', '_>_', '_>=_']);
const ARITH = new Set(['_+_', '_-_', '_*_', '_/_', '_%_']);
const CONCRETE: CelKind[] = ['bool', 'int', 'double', 'string', 'bytes', 'list', 'map', 'timestamp', 'duration'];

const typeName = (s: Shape): string =>
  s.kind === 'object'
    ? 'object'
    : s.kind === 'list'
      ? `list(${s.elem ? typeName(s.elem) : 'dyn'})`
      : s.kind === 'map'
        ? `map(string, ${s.elem ? typeName(s.elem) : 'dyn'})`
        : s.kind === 'null'
          ? 'null_type'
          : s.kind;
/** null is left out: it compares with objects and wrappers */
const concrete = (s: Shape): boolean => CONCRETE.includes(s.kind) || s.kind === 'object';
const sameKind = (a: Shape, b: Shape): boolean =>
  a.kind === b.kind || (a.kind === 'object' && b.kind === 'map') || (a.kind === 'map' && b.kind === 'object');

/** analyze one expression with the variables in scope (self, oldSelf) */
export function analyze(expr: Expr, vars: Record<string, Shape>): Analysis {
  const issues: Issue[] = [];
  const unsupported: string[] = [];
  let usesOldSelf = false;

  const walk = (e: Expr, scope: Record<string, Shape>): { shape: Shape; cost: number } => {
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr': {
        const c = k.value.constantKind.case;
        const kind: CelKind =
          c === 'boolValue'
            ? 'bool'
            : c === 'int64Value' || c === 'uint64Value'
              ? 'int'
              : c === 'doubleValue'
                ? 'double'
                : c === 'stringValue'
                  ? 'string'
                  : c === 'bytesValue'
                    ? 'bytes'
                    : 'null';
        return {
          shape: scalar(kind, typeof k.value.constantKind.value === 'string' ? k.value.constantKind.value.length : 0),
          cost: 0,
        };
      }
      case 'identExpr': {
        const name = k.value.name;
        if (name === 'oldSelf') usesOldSelf = true;
        if (Object.hasOwn(scope, name)) return { shape: scope[name], cost: 1 };
        if (TYPE_IDENTS.has(name)) return { shape: scalar('dyn'), cost: 1 };
        issues.push({ id: e.id, message: `undeclared reference to '${name}' (in container '')` });
        return { shape: DYN, cost: 1 };
      }
      case 'selectExpr': {
        const op = k.value.operand;
        if (!op) return { shape: DYN, cost: 1 };
        const o = walk(op, scope);
        const f = k.value.field;
        if (k.value.testOnly) return { shape: scalar('bool'), cost: o.cost + 1 };
        return { shape: selectField(o.shape, f, e.id), cost: o.cost + 1 };
      }
      case 'listExpr': {
        let cost = 10;
        const elems = k.value.elements.map((x) => {
          const r = walk(x, scope);
          cost += r.cost;
          return r.shape;
        });
        return { shape: { kind: 'list', len: elems.length, elem: elems[0] ?? DYN }, cost };
      }
      case 'structExpr': {
        let cost = 30;
        let elem: Shape = DYN;
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') cost += walk(entry.keyKind.value, scope).cost;
          if (entry.value) {
            const v = walk(entry.value, scope);
            cost += v.cost;
            elem = v.shape;
          }
        }
        return { shape: { kind: 'map', len: k.value.entries.length, elem }, cost };
      }
      case 'comprehensionExpr': {
        const c = k.value;
        const range = c.iterRange ? walk(c.iterRange, scope) : { shape: DYN, cost: 0 };
        const init = c.accuInit ? walk(c.accuInit, scope) : { shape: DYN, cost: 0 };
        const n = range.shape.len;
        const iterShape =
          range.shape.kind === 'list'
            ? (range.shape.elem ?? DYN)
            : range.shape.kind === 'map' || range.shape.kind === 'object'
              ? scalar('string', 253)
              : DYN;
        const accu: Shape = init.shape.kind === 'list' ? { kind: 'list', len: n, elem: iterShape } : init.shape;
        const inner = { ...scope, [c.iterVar]: iterShape, [c.accuVar]: accu };
        if (c.iterVar2) inner[c.iterVar2] = range.shape.elem ?? DYN;
        const step = c.loopStep ? walk(c.loopStep, inner) : { shape: DYN, cost: 0 };
        const cond = c.loopCondition ? walk(c.loopCondition, inner) : { shape: DYN, cost: 0 };
        const result = c.result ? walk(c.result, inner) : { shape: DYN, cost: 0 };
        return { shape: result.shape, cost: range.cost + init.cost + n * (step.cost + cond.cost) + result.cost };
      }
      case 'callExpr': {
        const call = k.value;
        const fn = call.function;
        // `math.greatest(...)`: a namespaced function, not a method of a variable
        const t = call.target?.exprKind;
        const ns =
          t?.case === 'identExpr' && !Object.hasOwn(scope, t.value.name) && FUNCTION_NAMESPACES.has(t.value.name)
            ? `${t.value.name}.${fn}`
            : undefined;
        if (ns || UNSUPPORTED_FUNCTIONS.has(fn)) {
          if (UNSUPPORTED_FUNCTIONS.has(ns ?? fn)) unsupported.push(ns ?? fn);
          else
            issues.push({ id: e.id, message: `undeclared reference to '${ns ?? fn}' (in container '')`, atCall: true });
          let cost = 1;
          for (const a of call.args) cost += walk(a, scope).cost;
          if (!ns && call.target) cost += walk(call.target, scope).cost;
          return { shape: DYN, cost };
        }
        const target = call.target ? walk(call.target, scope) : undefined;
        const args = call.args.map((a) => walk(a, scope));
        let cost = 1 + (target?.cost ?? 0) + args.reduce((s, a) => s + a.cost, 0);
        if (!KNOWN_FUNCTIONS.has(fn))
          issues.push({
            id: e.id,
            message: `undeclared reference to '${fn}' (in container '')`,
            atCall: !!call.target,
          });
        const first = target ?? args[0];
        const operands = target ? [target, ...args] : args;
        if (first && LINEAR_STRING.has(fn) && first.shape.kind === 'string')
          cost += Math.ceil(Math.max(...operands.map((o) => o.shape.len)) * 0.1);
        if (fn === '@in' && args[1]) cost += args[1].shape.len;
        else if (first && LINEAR_LIST.has(fn) && (first.shape.kind === 'list' || first.shape.kind === 'map'))
          cost += first.shape.len;
        return {
          shape: callResult(
            fn,
            e.id,
            operands.map((o) => o.shape),
          ),
          cost,
        };
      }
      default:
        return { shape: DYN, cost: 0 };
    }
  };

  const selectField = (o: Shape, f: string, id: bigint): Shape => {
    if (o.kind === 'object') {
      if (o.fields && Object.hasOwn(o.fields, f)) return o.fields[f];
      if (o.open) return DYN;
      issues.push({ id, message: `undefined field '${f}'` });
      return DYN;
    }
    if (o.kind === 'map') return o.fields?.[f] ?? o.elem ?? DYN;
    if (o.kind === 'dyn') return DYN;
    issues.push({ id, message: `type '${typeName(o)}' does not support field selection` });
    return DYN;
  };

  const noOverload = (fn: string, id: bigint, ops: Shape[]) =>
    issues.push({
      id,
      message: `found no matching overload for '${fn}' applied to '(${ops.map(typeName).join(', ')})'`,
    });

  const callResult = (fn: string, id: bigint, ops: Shape[]): Shape => {
    const [a, b] = ops;
    // a result of unknown shape is no larger than the largest operand
    const sized: Shape = { kind: 'dyn', len: Math.max(0, ...ops.map((o) => o.len)) };
    const temporal = (x: Shape) => x.kind === 'timestamp' || x.kind === 'duration';
    if (a && b && ops.length === 2 && concrete(a) && concrete(b)) {
      const numeric = (s: Shape) => s.kind === 'int' || s.kind === 'double';
      if ((fn === '_==_' || fn === '_!=_') && !sameKind(a, b)) noOverload(fn, id, ops);
      else if (COMPARE.has(fn) && !sameKind(a, b) && !(numeric(a) && numeric(b))) noOverload(fn, id, ops);
      else if (ARITH.has(fn) && !sameKind(a, b) && !((fn === '_+_' || fn === '_-_') && temporal(a) && temporal(b)))
        noOverload(fn, id, ops);
      else if ((fn === '_&&_' || fn === '_||_') && (a.kind !== 'bool' || b.kind !== 'bool')) noOverload(fn, id, ops);
    }
    if (BOOL_FUNCS.has(fn)) return scalar('bool');
    if (INT_FUNCS.has(fn)) return scalar('int');
    if (STRING_FUNCS.has(fn)) return scalar('string', Math.max(0, ...ops.map((o) => o.len)));
    if (fn === 'double' || fn === 'asApproximateFloat') return scalar('double');
    if (fn === 'bytes') return scalar('bytes');
    if (fn === 'bool') return scalar('bool');
    if (fn === 'duration') return scalar('duration');
    if (fn === 'timestamp') return scalar('timestamp');
    if (fn === 'split') return { kind: 'list', len: a?.len ?? 0, elem: scalar('string', a?.len ?? 0) };
    if (fn === 'min' || fn === 'max' || fn === 'sum') return a?.elem ?? sized;
    if (fn === '_?_:_') return ops[1] ?? sized;
    if (fn === '_[_]') return a?.kind === 'list' || a?.kind === 'map' ? (a.elem ?? DYN) : sized;
    if (fn === '-_') return a ?? sized;
    if (ARITH.has(fn) && a) {
      if (fn === '_+_' && a.kind === 'list' && b)
        return { kind: 'list', len: a.len + b.len, elem: a.elem ?? b.elem ?? DYN };
      if (fn === '_+_' && a.kind === 'string' && b) return scalar('string', a.len + b.len);
      if (fn === '_-_' && a.kind === 'timestamp' && b?.kind === 'timestamp') return scalar('duration');
      return a.kind === 'duration' && b?.kind === 'timestamp' ? b : a;
    }
    return sized;
  };

  const r = walk(expr, vars);
  return { shape: r.shape, cost: r.cost, issues, usesOldSelf, unsupported };
}
