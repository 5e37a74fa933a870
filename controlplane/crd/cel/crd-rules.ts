// CRD-time checks of x-kubernetes-validations, as ValidateCustomResourceDefinitionOpenAPISchema
// does: rule/message/messageExpression/reason/fieldPath well-formed, every rule compiled
// (`compilation failed: ...` at `...x-kubernetes-validations[0].rule`), estimated costs
// within StaticEstimatedCostLimit per expression and StaticEstimatedCRDCostLimit per schema,
// oldSelf only where old values correlate, optionalOldSelf only with oldSelf.
import type { StatusCause } from '../../../proto/meta.js';
import { field } from '../../api/errors.js';
import { additionalSchema, isRecord, keyPath, type JSONSchemaProps } from '../schema-types.js';
import { compileRules, rulesOf, type Rule } from './compile.js';
import { shapeOfSchema } from './shape.js';

export const STATIC_COST_LIMIT = 10_000_000;
export const STATIC_CRD_COST_LIMIT = 100_000_000;
const REASONS = ['FieldValueDuplicate', 'FieldValueForbidden', 'FieldValueInvalid', 'FieldValueRequired'];

/** getCostErrorMessage */
export function costErrorMessage(name: string, cost: number, limit: number): string {
  const f = cost / limit;
  const factor = f > 100 ? 'more than 100x' : f < 1.5 ? `${f.toFixed(6)}x` : `${f.toFixed(1)}x`;
  return `${name} exceeds budget by factor of ${factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`;
}

/** Go's %#v of an apiextensions.ValidationRule, the value of a compile error */
function goRule(r: Rule): string {
  const q = (s: string | undefined) => JSON.stringify(s ?? '');
  const reason =
    r.reason === undefined
      ? '(*apiextensions.FieldValueErrorReason)(nil)'
      : '(*apiextensions.FieldValueErrorReason)(0xc000010000)';
  const opt = r.optionalOldSelf === undefined ? '(*bool)(nil)' : '(*bool)(0xc000010008)';
  return `apiextensions.ValidationRule{Rule:${q(r.rule)}, Message:${q(r.message)}, MessageExpression:${q(r.messageExpression)}, Reason:${reason}, FieldPath:${q(r.fieldPath)}, OptionalOldSelf:${opt}}`;
}
const invalidRule = (path: string, r: Rule, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${goRule(r)}: ${detail}`,
  field: path,
});

interface Ctx {
  total: number;
  costs: { path: string; cost: number }[];
  out: StatusCause[];
  preexisting: Set<string>;
}

/** the rules and messageExpressions already in a stored CRD (upstream's preexistingExpressions):
 *  an update keeps them even where they no longer compile, so a CRD stays updatable */
export function expressionsOf(crd: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (!isRecord(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'x-kubernetes-validations' && Array.isArray(x)) {
        for (const r of x)
          if (isRecord(r)) for (const e of [r.rule, r.messageExpression]) if (typeof e === 'string') out.add(e);
      } else visit(x);
    }
  };
  visit(isRecord(crd) ? crd.spec : undefined);
  return out;
}

/** the errors of every x-kubernetes-validations in a structural schema at `path` (…openAPIV3Schema) */
export function celRuleErrors(schema: JSONSchemaProps, path: string, preexisting = new Set<string>()): StatusCause[] {
  const ctx: Ctx = { total: 0, costs: [], out: [], preexisting };
  walk(schema, path, true, 1, undefined, ctx);
  if (ctx.total > STATIC_CRD_COST_LIMIT) {
    for (const c of ctx.costs.sort((a, b) => b.cost - a.cost).slice(0, 4))
      ctx.out.push(
        field.forbidden(
          c.path,
          'contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema',
        ),
      );
    ctx.out.push(
      field.forbidden(
        path,
        costErrorMessage(
          'x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema',
          ctx.total,
          STATIC_CRD_COST_LIMIT,
        ),
      ),
    );
  }
  return ctx.out;
}

/** ValidFieldPath: `.a.b` / `['a.b']` through properties and additionalProperties */
export function fieldPathValid(s: JSONSchemaProps, p: string): boolean {
  const re = /\.([a-zA-Z_][a-zA-Z0-9_-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]/y;
  let cur: JSONSchemaProps | undefined = s;
  let i = 0;
  if (!p.startsWith('.') && !p.startsWith('[')) return false;
  while (i < p.length) {
    re.lastIndex = i;
    const m = re.exec(p);
    if (!m || !cur) return false;
    const key = m[1] ?? (m[2] ?? '').replace(/\\(.)/g, '$1');
    const props: Record<string, JSONSchemaProps> = isRecord(cur.properties) ? cur.properties : {};
    const add = additionalSchema(cur);
    if (Object.hasOwn(props, key)) cur = props[key];
    else if (add && m[2] !== undefined) cur = add;
    else return false;
    i = re.lastIndex;
  }
  return true;
}

function walk(
  s: JSONSchemaProps,
  path: string,
  root: boolean,
  card: number,
  uncorrelatable: string | undefined,
  ctx: Ctx,
): void {
  const rules = rulesOf(s);
  if (rules.length) checkRules(s, rules, path, root, card, uncorrelatable, ctx);
  const self = shapeOfSchema(s);
  if (isRecord(s.items)) {
    const mapList = s['x-kubernetes-list-type'] === 'map';
    walk(
      s.items,
      `${path}.items`,
      false,
      card * Math.max(1, self.len),
      uncorrelatable ?? (mapList ? undefined : path),
      ctx,
    );
  }
  for (const [k, v] of Object.entries(isRecord(s.properties) ? s.properties : {})) {
    if (isRecord(v)) walk(v, keyPath(`${path}.properties`, k), false, card, uncorrelatable, ctx);
  }
  const add = additionalSchema(s);
  if (add) walk(add, `${path}.additionalProperties`, false, card * Math.max(1, self.len), uncorrelatable, ctx);
}

function checkRules(
  s: JSONSchemaProps,
  rules: Rule[],
  path: string,
  root: boolean,
  card: number,
  uncorrelatable: string | undefined,
  ctx: Ctx,
): void {
  const at = (i: number, f: string) => `${path}.x-kubernetes-validations[${i}].${f}`;
  const before = ctx.out.length;
  rules.forEach((r, i) => {
    const rule = r.rule.trim();
    const msg = r.message?.trim() ?? '';
    if (!rule) ctx.out.push(field.required(at(i, 'rule'), 'rule is not specified'));
    else if (r.message !== undefined && r.message.length > 0 && !msg)
      ctx.out.push(field.invalid(at(i, 'message'), r.message, 'must be non-empty if specified'));
    else if (/[\n\r]/.test(msg))
      ctx.out.push(field.invalid(at(i, 'message'), r.message, 'must not contain line breaks'));
    else if (/[\n\r]/.test(rule) && !msg)
      ctx.out.push(field.required(at(i, 'message'), 'message must be specified if rule contains line breaks'));
    if (r.messageExpression !== undefined && r.messageExpression.length > 0 && !r.messageExpression.trim())
      ctx.out.push(field.required(at(i, 'messageExpression'), 'messageExpression must be non-empty if specified'));
    if (r.reason !== undefined && !REASONS.includes(r.reason))
      ctx.out.push(field.notSupported(at(i, 'reason'), r.reason, REASONS));
    if (r.fieldPath !== undefined && r.fieldPath.length > 0) {
      if (!r.fieldPath.trim())
        ctx.out.push(field.invalid(at(i, 'fieldPath'), r.fieldPath, 'must be non-empty if specified'));
      if (/[\n\r]/.test(r.fieldPath))
        ctx.out.push(field.invalid(at(i, 'fieldPath'), r.fieldPath, 'must not contain line breaks'));
      if (!fieldPathValid(s, r.fieldPath.trim()))
        ctx.out.push(field.invalid(at(i, 'fieldPath'), r.fieldPath, 'must be a valid path'));
    }
  });
  if (ctx.out.length > before) return;
  compileRules(s, root).forEach((c, i) => {
    const cost = c.cost * card;
    if (cost > STATIC_COST_LIMIT)
      ctx.out.push(field.forbidden(at(i, 'rule'), costErrorMessage('estimated rule cost', cost, STATIC_COST_LIMIT)));
    ctx.total += cost;
    ctx.costs.push({ path: at(i, 'rule'), cost });
    if (c.error && !ctx.preexisting.has(c.rule.rule))
      ctx.out.push(
        c.error.type === 'Required'
          ? field.required(at(i, 'rule'), c.error.detail)
          : invalidRule(at(i, 'rule'), c.rule, c.error.detail),
      );
    if (c.messageError && !ctx.preexisting.has(c.rule.messageExpression ?? ''))
      ctx.out.push(invalidRule(at(i, 'messageExpression'), c.rule, c.messageError));
    else if (c.message) {
      const mcost = c.messageCost * card;
      if (mcost > STATIC_COST_LIMIT)
        ctx.out.push(
          field.forbidden(
            at(i, 'messageExpression'),
            costErrorMessage('estimated messageExpression cost', mcost, STATIC_COST_LIMIT),
          ),
        );
      ctx.total += mcost;
      ctx.costs.push({ path: at(i, 'messageExpression'), cost: mcost });
    }
    if (c.usesOldSelf) {
      if (uncorrelatable !== undefined)
        ctx.out.push(
          field.invalid(
            at(i, 'rule'),
            c.rule.rule,
            `oldSelf cannot be used on the uncorrelatable portion of the schema within ${uncorrelatable}`,
          ),
        );
    } else if (c.rule.optionalOldSelf !== undefined) {
      ctx.out.push(
        field.invalid(
          at(i, 'optionalOldSelf'),
          c.rule.optionalOldSelf,
          'may not be set if oldSelf is not used in rule',
        ),
      );
    }
  });
}
