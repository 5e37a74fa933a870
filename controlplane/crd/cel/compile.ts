// Compiles one x-kubernetes-validations rule as apiextensions' cel.Compile does: the rule
// and its messageExpression parsed and checked against the schema's shape (`self`, and
// `oldSelf` for transition rules), their estimated costs, and the planned programs.
// Compile errors carry cel-go's text: `compilation failed: ERROR: <input>:1:6: undeclared
// reference to 'foo' (in container '')` followed by the source line and a caret.
import { parse, plan } from '@bufbuild/cel';
import { isRecord, type JSONSchemaProps } from '../schema-types.js';
import { analyze, type Analysis, type Issue } from './analyze.js';
import { celEnvironment } from './library.js';
import { shapeOfSchema, type Shape } from './shape.js';

export interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export type Program = ReturnType<typeof plan>;
/** the variables of one evaluation; values come from toCel, which yields only CEL inputs */
export type Bindings = NonNullable<Parameters<Program>[0]>;
export const bindings = (vars: Record<string, unknown>): Bindings => vars as Bindings;

export interface Compiled {
  rule: Rule;
  program?: Program;
  message?: Program;
  /** the parsed expressions, for the runtime cost walk */
  ruleExpr?: ReturnType<typeof parse>['expr'];
  messageExpr?: ReturnType<typeof parse>['expr'];
  usesOldSelf: boolean;
  /** Kubernetes functions skiff does not evaluate: the rule is accepted and skipped */
  unsupported?: string[];
  cost: number;
  messageCost: number;
  error?: { type: 'Invalid' | 'Required'; detail: string };
  messageError?: string;
}

/** the rules of a schema node, narrowed */
export function rulesOf(s: JSONSchemaProps): Rule[] {
  const raw = s['x-kubernetes-validations'];
  if (!Array.isArray(raw)) return [];
  return raw.filter(isRecord).map((r) => ({
    rule: typeof r.rule === 'string' ? r.rule : '',
    message: typeof r.message === 'string' ? r.message : undefined,
    messageExpression: typeof r.messageExpression === 'string' ? r.messageExpression : undefined,
    reason: typeof r.reason === 'string' ? r.reason : undefined,
    fieldPath: typeof r.fieldPath === 'string' ? r.fieldPath : undefined,
    optionalOldSelf: typeof r.optionalOldSelf === 'boolean' ? r.optionalOldSelf : undefined,
  }));
}

/** cel-go's issue rendering: `ERROR: <input>:L:C: msg` + ` | source line` + ` | ....^` */
function renderIssue(src: string, offset: number, message: string): string {
  const before = src.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const col = [...src.slice(lineStart, offset)].length;
  const text = src.split('\n')[line - 1] ?? '';
  return `ERROR: <input>:${line}:${col + 1}: ${message}\n | ${text}\n | ${'.'.repeat(col)}^`;
}

interface Parsed {
  expr?: ReturnType<typeof parse>['expr'];
  analysis?: Analysis;
  issues?: string;
}

function parseAndCheck(src: string, vars: Record<string, Shape>): Parsed {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(src);
  } catch (e) {
    const loc =
      isRecord(e) && isRecord(e.location) && isRecord(e.location.start) && typeof e.location.start.offset === 'number'
        ? e.location.start.offset
        : 0;
    const raw = e instanceof Error ? e.message.replace(/^<input>:\d+:\d+: /, '') : String(e);
    return { issues: renderIssue(src, loc, `Syntax error: ${raw}`) };
  }
  const analysis = analyze(parsed.expr, vars);
  if (analysis.issues.length) {
    const positions = parsed.sourceInfo?.positions ?? {};
    const at = (i: Issue) => {
      const pos = positions[String(i.id)] ?? 0;
      const open = i.atCall ? src.indexOf('(', pos) : -1;
      return open >= 0 ? open : pos;
    };
    return { issues: analysis.issues.map((i) => renderIssue(src, at(i), i.message)).join('\n') };
  }
  return { expr: parsed.expr, analysis };
}

/** compile every rule of one schema node (`root`: the resource's root, with apiVersion/kind/metadata) */
export function compileRules(s: JSONSchemaProps, root = false): Compiled[] {
  const self = shapeOfSchema(s, root);
  const vars = { self, oldSelf: self };
  const env = celEnvironment();
  return rulesOf(s).map((rule): Compiled => {
    const out: Compiled = { rule, usesOldSelf: false, cost: 0, messageCost: 0 };
    if (!rule.rule.trim()) return out;
    const p = parseAndCheck(rule.rule, vars);
    if (p.issues !== undefined) out.error = { type: 'Invalid', detail: `compilation failed: ${p.issues}` };
    else if (p.analysis && p.expr) {
      out.usesOldSelf = p.analysis.usesOldSelf;
      out.cost = p.analysis.cost;
      if (p.analysis.unsupported.length) out.unsupported = p.analysis.unsupported;
      if (p.analysis.shape.kind !== 'bool' && p.analysis.shape.kind !== 'dyn')
        out.error = { type: 'Invalid', detail: 'cel expression must evaluate to a bool' };
      else {
        out.ruleExpr = p.expr;
        try {
          out.program = plan(env, p.expr);
        } catch (e) {
          out.error = {
            type: 'Invalid',
            detail: `program instantiation failed: ${e instanceof Error ? e.message : String(e)}`,
          };
        }
      }
    }
    if (rule.messageExpression?.trim()) {
      const m = parseAndCheck(rule.messageExpression, vars);
      if (m.issues !== undefined) out.messageError = `messageExpression compilation failed: ${m.issues}`;
      else if (m.analysis && m.expr) {
        out.messageCost = m.analysis.cost;
        if (m.analysis.shape.kind !== 'string' && m.analysis.shape.kind !== 'dyn')
          out.messageError = 'messageExpression must evaluate to a string';
        else {
          out.messageExpr = m.expr;
          try {
            out.message = plan(env, m.expr);
          } catch (e) {
            out.messageError = `messageExpression instantiation failed: ${e instanceof Error ? e.message : String(e)}`;
          }
        }
      }
    }
    return out;
  });
}
