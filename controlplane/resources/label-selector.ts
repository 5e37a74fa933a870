// metav1.LabelSelector semantics: matching (LabelSelectorAsSelector), the string form
// the printers show (FormatLabelSelector / labels.FormatLabels), and validation.
import type { StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { isDecoded, isQualifiedName, isValidLabelValue, validateLabels, type Decoded } from './meta-validation.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export function isEmptySelector(sel: LabelSelector | undefined | null): boolean {
  return !!sel && Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0;
}

/** A nil selector matches nothing, an empty one everything (as LabelSelectorAsSelector). */
export function selectorMatches(
  sel: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined | null,
): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (!Object.hasOwn(l, k) || l[k] !== v) return false;
  }
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, r.key);
    const vals = r.values ?? [];
    switch (r.operator) {
      case 'In':
        if (!has || !vals.includes(l[r.key])) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[r.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** labels.Selector.String(): requirements sorted by key, "a=b,c in (x,y),!d". */
export function selectorString(sel: LabelSelector | undefined | null): string {
  if (!sel) return '';
  const reqs: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push([k, `${k}=${v}`]);
  for (const r of sel.matchExpressions ?? []) {
    const vals = [...(r.values ?? [])].sort().join(',');
    switch (r.operator) {
      case 'In':
        reqs.push([r.key, `${r.key} in (${vals})`]);
        break;
      case 'NotIn':
        reqs.push([r.key, `${r.key} notin (${vals})`]);
        break;
      case 'Exists':
        reqs.push([r.key, r.key]);
        break;
      case 'DoesNotExist':
        reqs.push([r.key, `!${r.key}`]);
        break;
    }
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return reqs.map((r) => r[1]).join(',');
}

/** metav1.FormatLabelSelector: the selector string, or "<none>". */
export function formatLabelSelector(sel: LabelSelector | undefined | null): string {
  return selectorString(sel) || '<none>';
}

/** labels.FormatLabels: "a=b,c=d" sorted by key, or "<none>". */
export function formatLabels(labels: Record<string, string> | undefined | null): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels![k]}`).join(',');
}

/** ValidateLabelSelector (meta/v1/validation). */
export function validateLabelSelector(sel: unknown, path: string): StatusCause[] {
  if (sel === undefined || sel === null) return [];
  if (!isDecoded<LabelSelector>(sel)) return [field.invalid(path, sel, 'must be a label selector')];
  const out: StatusCause[] = [];
  const exprs = sel.matchExpressions;
  if (exprs !== undefined && exprs !== null) {
    if (!Array.isArray(exprs)) {
      out.push(field.invalid(`${path}.matchExpressions`, exprs, 'must be a list'));
    } else {
      exprs.forEach((r: Decoded<LabelSelectorRequirement> | null | undefined, i: number) => {
        const p = `${path}.matchExpressions[${i}]`;
        const values: unknown[] = Array.isArray(r?.values) ? r.values : [];
        switch (r?.operator) {
          case 'In':
          case 'NotIn':
            if (values.length === 0)
              out.push(field.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
            break;
          case 'Exists':
          case 'DoesNotExist':
            if (values.length > 0)
              out.push(
                field.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
              );
            break;
          default:
            out.push(field.invalid(`${p}.operator`, r?.operator ?? '', 'not a valid selector operator'));
        }
        for (const m of isQualifiedName(String(r?.key ?? ''))) out.push(field.invalid(`${p}.key`, r?.key ?? '', m));
        values.forEach((v, j) => {
          for (const m of isValidLabelValue(String(v))) out.push(field.invalid(`${p}.values[${j}]`, v, m));
        });
      });
    }
  }
  out.push(...validateLabels(sel.matchLabels, `${path}.matchLabels`));
  return out;
}
