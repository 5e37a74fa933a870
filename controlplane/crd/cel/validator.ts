// Runs a custom resource's x-kubernetes-validations as apiextensions' cel.Validator does:
// every rule of every schema node with a non-null value, `self` bound to that value;
// transition rules (those using oldSelf) only where an old value correlates (object keys,
// map-list keys), or always with optionalOldSelf; a failed rule becomes a field error with
// its message / messageExpression / reason / fieldPath; the cost of each evaluation is
// charged to a per-call limit and a per-request budget. Like cel.NewValidator, a schema
// without any rule validates nothing, and subtrees without rules are not walked; map-list
// items correlate with old items through one key map per list (linear in the items).
import type { StatusCause } from '../../../proto/meta.js';
import { field } from '../../api/errors.js';
import { additionalSchema, childPath, isRecord, type JSONSchemaProps } from '../schema-types.js';
import { analyze } from './analyze.js';
import { bindings, compileRules, type Compiled, type Rule } from './compile.js';
import { optionalOf } from './library.js';
import { shapeOfValue } from './shape.js';
import { toCel } from './values.js';
import { isCelError } from '@bufbuild/cel';

/** k8s.io/apiserver/pkg/apis/cel: PerCallLimit and RuntimeCELCostBudget */
export const PER_CALL_LIMIT = 1_000_000;
export const RUNTIME_COST_BUDGET = 10_000_000;
const MAX_MESSAGE_BYTES = 5 * 1024;

const cache = new WeakMap<JSONSchemaProps, Compiled[]>();
function compiledOf(s: JSONSchemaProps, root: boolean): Compiled[] {
  let c = cache.get(s);
  if (!c) {
    c = compileRules(s, root);
    cache.set(s, c);
  }
  return c;
}

/** hasXValidations: rules on this node or on any node below it (items, properties, additionalProperties) */
const withRules = new WeakMap<JSONSchemaProps, boolean>();
export function hasRules(s: JSONSchemaProps): boolean {
  let h = withRules.get(s);
  if (h === undefined) {
    const own = s['x-kubernetes-validations'];
    const add = additionalSchema(s);
    h =
      (Array.isArray(own) && own.length > 0) ||
      (isRecord(s.items) && hasRules(s.items)) ||
      (add !== undefined && hasRules(add)) ||
      (isRecord(s.properties) && Object.values(s.properties).some((p) => isRecord(p) && hasRules(p)));
    withRules.set(s, h);
  }
  return h;
}

/** work done by validateCel, for tests that prove it linear: schema nodes visited, map-list keys computed */
export const celWork = { nodes: 0, keys: 0 };

const OUT_OF_BUDGET = 'validation failed due to running out of cost budget, no further validation rules will be run';

interface State {
  budget: number;
  out: StatusCause[];
}

/** the CEL errors of `obj` (and `old` on update) under `schema`; perCallLimit/budget for tests */
export function validateCel(
  schema: JSONSchemaProps,
  obj: unknown,
  old?: unknown,
  budget = RUNTIME_COST_BUDGET,
  perCallLimit = PER_CALL_LIMIT,
): StatusCause[] {
  const st: State = { budget, out: [] };
  if (!hasRules(schema)) return st.out;
  node(schema, obj, old, '', true, st, perCallLimit);
  return st.out;
}

const errorString = (r: Rule): string => (r.message?.trim() ? r.message.trim() : r.rule.trim());
const pathOf = (p: string): string => p || '<nil>';

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** the value shown for a failed rule: the schema's type (1.32's sts.Type; 1.34 omits it) */
function shownValue(s: JSONSchemaProps): string {
  return s.type ?? '';
}

function node(
  s: JSONSchemaProps,
  v: unknown,
  old: unknown,
  path: string,
  root: boolean,
  st: State,
  limit: number,
): void {
  if (st.budget < 0 || v === null || v === undefined || !hasRules(s)) return;
  celWork.nodes++;
  rules(s, v, old, path, root, st, limit);
  if (st.budget < 0) return;
  if (Array.isArray(v) && isRecord(s.items)) {
    const items = s.items;
    if (!hasRules(items)) return;
    const keys =
      s['x-kubernetes-list-type'] === 'map' && Array.isArray(s['x-kubernetes-list-map-keys'])
        ? s['x-kubernetes-list-map-keys']
        : undefined;
    const keyOf = (x: unknown): string | undefined => {
      if (!isRecord(x) || !keys) return undefined;
      celWork.keys++;
      return JSON.stringify(keys.map((k) => x[k]));
    };
    // the old items by key, the first of equal keys winning (as a search from the front would)
    const oldByKey = new Map<string, unknown>();
    if (keys && Array.isArray(old)) {
      for (const y of old) {
        const k = keyOf(y);
        if (k !== undefined && !oldByKey.has(k)) oldByKey.set(k, y);
      }
    }
    v.forEach((x, i) => {
      const k = keyOf(x);
      node(items, x, k === undefined ? undefined : oldByKey.get(k), `${path}[${i}]`, false, st, limit);
    });
  } else if (isRecord(v)) {
    const props = isRecord(s.properties) ? s.properties : {};
    const add = additionalSchema(s);
    const oldRec = isRecord(old) ? old : {};
    for (const [k, x] of Object.entries(v)) {
      if (st.budget < 0) return;
      if (root && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
      const sub = Object.hasOwn(props, k) ? props[k] : add;
      if (!sub || !hasRules(sub)) continue;
      const p = Object.hasOwn(props, k) ? childPath(path, k) : `${path}[${k}]`;
      node(sub, x, Object.hasOwn(oldRec, k) ? oldRec[k] : undefined, p, false, st, limit);
    }
  }
}

function runtimeError(message: string): string {
  if (message.startsWith('found no matching overload') || message.startsWith('unbound function'))
    return 'no such overload';
  if (message.startsWith('field not found: ')) return `no such key: ${message.slice('field not found: '.length)}`;
  return message;
}

function rules(
  s: JSONSchemaProps,
  v: unknown,
  old: unknown,
  path: string,
  root: boolean,
  st: State,
  limit: number,
): void {
  const compiled = compiledOf(s, root);
  if (!compiled.length) return;
  const here = pathOf(path);
  const type = s.type ?? '';
  if (st.budget <= 0) {
    st.out.push(field.invalid(here, type, OUT_OF_BUDGET));
    st.budget = -1;
    return;
  }
  const self = toCel(s, v, root);
  const oldSelf = old === undefined || old === null ? undefined : toCel(s, old, root);
  const selfShape = shapeOfValue(self);
  const oldShape = oldSelf === undefined ? selfShape : shapeOfValue(oldSelf);
  for (const c of compiled) {
    const rule = c.rule;
    if (c.error) {
      st.out.push(field.invalid(here, type, `rule compile error: ${c.error.detail}`));
      continue;
    }
    if (!c.program || !c.ruleExpr || c.unsupported) continue;
    const optional = rule.optionalOldSelf === true;
    if (c.usesOldSelf && oldSelf === undefined && !optional) continue;
    const vars: Record<string, unknown> = { self };
    if (optional) vars.oldSelf = optionalOf(oldSelf);
    else if (oldSelf !== undefined) vars.oldSelf = oldSelf;

    const cost = analyze(c.ruleExpr, { self: selfShape, oldSelf: oldShape }).cost;
    if (cost > limit) {
      st.out.push(
        field.invalid(
          here,
          type,
          `'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: ${errorString(rule)}`,
        ),
      );
      st.budget = -1;
      return;
    }
    if (cost > st.budget) {
      st.out.push(field.invalid(here, type, OUT_OF_BUDGET));
      st.budget = -1;
      return;
    }
    st.budget -= cost;
    const result = c.program(bindings(vars));
    if (isCelError(result)) {
      const msg = runtimeError(result.message);
      if (msg === 'no such overload')
        st.out.push(
          field.invalid(
            here,
            type,
            `'no such overload': call arguments did not match a supported operator, function or macro signature for rule: ${errorString(rule)}`,
          ),
        );
      else st.out.push(field.invalid(here, type, `${msg} evaluating rule: ${errorString(rule)}`));
      continue;
    }
    if (result === true) continue;
    // ratcheting: an unchanged value keeps passing rules that do not look at oldSelf
    if (!c.usesOldSelf && oldSelf !== undefined && deepEqual(v, old)) continue;

    const at = rule.fieldPath?.trim() ? childPath(path, normalizeFieldPath(rule.fieldPath.trim())) : here;
    let detail: string | undefined;
    if (c.message && c.messageExpr) {
      const mcost = analyze(c.messageExpr, { self: selfShape, oldSelf: oldShape }).cost;
      if (mcost > st.budget) {
        st.out.push(
          field.invalid(
            at,
            type,
            'messageExpression evaluation failed due to running out of cost budget, no further validation rules will be run',
          ),
        );
        st.budget = -1;
        return;
      }
      st.budget -= mcost;
      const m = c.message(bindings({ self, ...(oldSelf !== undefined && !optional ? { oldSelf } : {}) }));
      if (typeof m === 'string') {
        const t = m.trim();
        if (t && t.length <= MAX_MESSAGE_BYTES && !/\n/.test(t)) detail = t;
      }
    }
    detail ??= rule.message?.trim() ? rule.message.trim() : `failed rule: ${errorString(rule)}`;
    st.out.push(causeFor(rule.reason, at, shownValue(s), detail));
  }
}

/** fieldErrorForReason */
function causeFor(reason: string | undefined, path: string, value: unknown, detail: string): StatusCause {
  switch (reason) {
    case 'FieldValueForbidden':
      return field.forbidden(path, detail);
    case 'FieldValueRequired':
      return field.required(path, detail);
    case 'FieldValueDuplicate':
      return field.duplicate(path, value);
    default:
      return field.invalid(path, value, detail);
  }
}

/** `.spec.x['y.z']` → `spec.x[y.z]` (apimachinery field path text) */
export function normalizeFieldPath(p: string): string {
  return p
    .replace(/\[\s*'((?:[^'\\]|\\.)*)'\s*\]/g, (_m, k: string) => `[${k.replace(/\\(.)/g, '$1')}]`)
    .replace(/^\./, '');
}

/** the strategy's step: x-kubernetes-validations unless a type error blocks them (hasBlockingErr);
 *  nothing at all without rules (the strategy's celValidator is nil then) */
export function celCauses(schema: JSONSchemaProps, obj: unknown, old: unknown, errors: StatusCause[]): StatusCause[] {
  if (!hasRules(schema)) return [];
  if (errors.some((e) => / must be of type /.test(e.message ?? ''))) {
    return [
      {
        reason: 'FieldValueInvalid',
        message:
          'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
        field: '<nil>',
      },
    ];
  }
  return validateCel(schema, obj, old);
}
