// Defaulting and validation of CustomResourceDefinitions (apiextensions.k8s.io/v1) with
// Kubernetes' field paths and messages: pkg/apis/apiextensions/v1/defaults.go and
// pkg/apis/apiextensions/validation/validation.go (names, group, scope, versions, schemas
// required and structural, subresources, printer columns, immutable fields).
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { isConditionTrue } from '../../proto/api/conditions.js';
import { field } from '../api/errors.js';
import {
  immutable,
  isDNS1035Label,
  isDNS1123Subdomain,
  nameIsDNSSubdomain,
  validateObjectMeta,
} from '../resources/meta-validation.js';
import { validateStructural } from './structural.js';
import { arr, isRecord, rec, str, type JSONSchemaProps } from './schema-types.js';
import { celRuleErrors, expressionsOf } from './cel/crd-rules.js';
import { parseJsonPath, JsonPathError } from './jsonpath.js';

export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

/** SetDefaults_CustomResourceDefinitionSpec, and storedVersions keeping the storage version (the strategy's) */
export function defaultCrd(crd: KubeObject): void {
  if (!isRecord(crd.spec)) return;
  const spec = crd.spec as Record<string, unknown>;
  if (isRecord(spec.names)) {
    const n = spec.names;
    if (!n.singular && typeof n.kind === 'string') n.singular = n.kind.toLowerCase();
    if (!n.listKind && typeof n.kind === 'string' && n.kind) n.listKind = `${n.kind}List`;
  }
  if (spec.conversion === undefined || spec.conversion === null) spec.conversion = { strategy: 'None' };
  const storage = arr(spec.versions).find((v) => isRecord(v) && v.storage === true);
  if (isRecord(storage) && typeof storage.name === 'string') {
    crd.status = isRecord(crd.status) ? crd.status : {};
    const stored = arr(crd.status.storedVersions).filter((x): x is string => typeof x === 'string');
    if (!stored.includes(storage.name)) stored.push(storage.name);
    crd.status.storedVersions = stored;
  }
}

/** the strategy's PrepareForCreate: a fresh status (the cleanup finalizer is added by the first delete) */
export function prepareCrdForCreate(crd: KubeObject): void {
  crd.status = { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: [] };
}

function namesErrors(names: Record<string, unknown>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const label = (p: string, v: unknown, prefix = '') => {
    const s = str(v);
    if (!s) return;
    const errs = isDNS1035Label(prefix ? s.toLowerCase() : s);
    if (errs.length) out.push(field.invalid(p, s, prefix + errs.join(',')));
  };
  label(`${path}.plural`, names.plural);
  label(`${path}.singular`, names.singular);
  label(`${path}.kind`, names.kind, 'may have mixed case, but should otherwise match: ');
  label(`${path}.listKind`, names.listKind, 'may have mixed case, but should otherwise match: ');
  arr(names.shortNames).forEach((s, i) => {
    const e = isDNS1035Label(str(s));
    if (e.length) out.push(field.invalid(`${path}.shortNames[${i}]`, s, e.join(',')));
  });
  if (str(names.kind) && names.kind === names.listKind)
    out.push(field.invalid(`${path}.listKind`, names.listKind, 'kind and listKind may not be the same'));
  arr(names.categories).forEach((s, i) => {
    const e = isDNS1035Label(str(s));
    if (e.length) out.push(field.invalid(`${path}.categories[${i}]`, s, e.join(',')));
  });
  return out;
}

function simpleJsonPath(p: string, path: string): StatusCause[] {
  try {
    parseJsonPath(p);
    return [];
  } catch (e) {
    return [field.invalid(path, p, e instanceof JsonPathError ? e.message : 'must be a simple json path')];
  }
}

function columnErrors(c: Record<string, unknown>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!str(c.name)) out.push(field.required(`${path}.name`));
  const t = str(c.type);
  if (!t) out.push(field.required(`${path}.type`, `must be one of ${COLUMN_TYPES.join(',')}`));
  else if (!COLUMN_TYPES.includes(t))
    out.push(field.invalid(`${path}.type`, t, `must be one of ${COLUMN_TYPES.join(',')}`));
  if (str(c.format) && !COLUMN_FORMATS.includes(str(c.format)))
    out.push(field.invalid(`${path}.format`, c.format, `must be one of ${COLUMN_FORMATS.join(',')}`));
  if (!str(c.jsonPath)) out.push(field.required(`${path}.JSONPath`));
  else out.push(...simpleJsonPath(str(c.jsonPath), `${path}.JSONPath`));
  return out;
}

function scaleErrors(scale: Record<string, unknown>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = str(scale.specReplicasPath);
  if (!spec) out.push(field.required(`${path}.specReplicasPath`));
  else if (!spec.startsWith('.spec.'))
    out.push(field.invalid(`${path}.specReplicasPath`, spec, 'should be a json path under .spec'));
  const st = str(scale.statusReplicasPath);
  if (!st) out.push(field.required(`${path}.statusReplicasPath`));
  else if (!st.startsWith('.status.'))
    out.push(field.invalid(`${path}.statusReplicasPath`, st, 'should be a json path under .status'));
  const sel = str(scale.labelSelectorPath);
  if (sel && !sel.startsWith('.spec.') && !sel.startsWith('.status.'))
    out.push(field.invalid(`${path}.labelSelectorPath`, sel, 'should be a json path under either .spec or .status'));
  return out;
}

function versionErrors(
  v: Record<string, unknown>,
  path: string,
  celPath?: string,
  preexisting?: Set<string>,
): StatusCause[] {
  const out: StatusCause[] = [];
  const schema = rec(v.schema).openAPIV3Schema;
  if (schema === undefined || schema === null)
    out.push(field.required(`${path}.schema.openAPIV3Schema`, 'schemas are required'));
  else {
    const errs = validateStructural(schema, `${path}.schema.openAPIV3Schema`);
    out.push(...errs);
    // per-version schemas only when they differ (else spec.validation, see specErrors)
    if (!errs.length && celPath !== undefined && isRecord(schema))
      out.push(...celRuleErrors(schema as JSONSchemaProps, celPath, preexisting));
  }
  const sub = rec(v.subresources);
  if (isRecord(sub.scale)) out.push(...scaleErrors(sub.scale, `${path}.subresources.scale`));
  arr(v.additionalPrinterColumns).forEach((c, i) =>
    out.push(...columnErrors(rec(c), `${path}.additionalPrinterColumns[${i}]`)),
  );
  arr(v.selectableFields).forEach((f, i) => {
    const p = str(rec(f).jsonPath);
    if (!p) out.push(field.required(`${path}.selectableFields[${i}].jsonPath`));
    else out.push(...simpleJsonPath(p, `${path}.selectableFields[${i}].jsonPath`));
  });
  return out;
}

function specErrors(spec: Record<string, unknown>, preexisting?: Set<string>): StatusCause[] {
  const out: StatusCause[] = [];
  const group = str(spec.group);
  if (!group) out.push(field.required('spec.group'));
  else {
    const e = isDNS1123Subdomain(group);
    if (e.length) out.push(field.invalid('spec.group', group, e.join(',')));
    else if (group.split('.').length < 2)
      out.push(field.invalid('spec.group', group, 'should be a domain with at least one dot'));
  }
  const scope = spec.scope;
  if (!scope) out.push(field.required('spec.scope'));
  else if (scope !== 'Cluster' && scope !== 'Namespaced')
    out.push(field.notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));

  const versions = arr(spec.versions).map(rec);
  const identical =
    versions.length > 0 &&
    versions.every(
      (v) => JSON.stringify(rec(v.schema).openAPIV3Schema) === JSON.stringify(rec(versions[0].schema).openAPIV3Schema),
    );
  if (!versions.length)
    out.push(field.invalid('spec.versions', [], 'must have exactly one version marked as storage version'));
  const names = new Set<string>();
  let unique = true;
  let storage = 0;
  versions.forEach((v, i) => {
    const name = str(v.name);
    if (v.storage === true) storage++;
    if (names.has(name)) unique = false;
    names.add(name);
    const e = isDNS1035Label(name);
    if (e.length) out.push(field.invalid(`spec.versions[${i}].name`, name, e.join(',')));
    out.push(
      ...versionErrors(
        v,
        `spec.versions[${i}]`,
        identical ? undefined : `spec.versions[${i}].schema.openAPIV3Schema`,
        preexisting,
      ),
    );
  });
  // identical per-version schemas are one spec.validation in the internal version, where
  // apiextensions reports x-kubernetes-validations errors
  const first = rec(versions[0]?.schema).openAPIV3Schema;
  if (identical && isRecord(first) && !validateStructural(first, '').length)
    out.push(...celRuleErrors(first as JSONSchemaProps, 'spec.validation.openAPIV3Schema', preexisting));
  if (!unique)
    out.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: ' + renderVersions(versions) + ': must contain unique version names',
      field: 'spec.versions',
    });
  if (versions.length && storage !== 1)
    out.push({
      reason: 'FieldValueInvalid',
      message:
        'Invalid value: ' + renderVersions(versions) + ': must have exactly one version marked as storage version',
      field: 'spec.versions',
    });
  if (versions.length && !versions.some((v) => v.served === true))
    out.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: ' + renderVersions(versions) + ': must have at least one version marked as served',
      field: 'spec.versions',
    });

  const n = rec(spec.names);
  if (!str(n.plural)) out.push(field.required('spec.names.plural'));
  if (!str(n.singular)) out.push(field.required('spec.names.singular'));
  if (!str(n.kind)) out.push(field.required('spec.names.kind'));
  if (!str(n.listKind)) out.push(field.required('spec.names.listKind'));
  out.push(...namesErrors(n, 'spec.names'));

  const conv = rec(spec.conversion);
  if (conv.strategy !== undefined && conv.strategy !== 'None') {
    // conversion webhooks are not run by skiff: only None (the apiVersion is rewritten)
    out.push(field.notSupported('spec.conversion.strategy', conv.strategy, ['None']));
  }
  return out;
}

/** Go's %v of a []CustomResourceDefinitionVersion is long; kube prints the structs. We print names. */
function renderVersions(versions: Record<string, unknown>[]): string {
  return `[${versions.map((v) => `{${str(v.name)}}`).join(' ')}]`;
}

const APPROVAL = 'api-approved.kubernetes.io';

/** validateAPIApproval: groups under k8s.io and kubernetes.io need the approval annotation */
function approvalErrors(crd: KubeObject): StatusCause[] {
  const group = str(rec(crd.spec).group);
  const isProtected = ['k8s.io', 'kubernetes.io'].some((g) => group === g || group.endsWith(`.${g}`));
  if (!isProtected) return [];
  const path = `metadata.annotations[${APPROVAL}]`;
  const value = crd.metadata.annotations?.[APPROVAL];
  if (value === undefined)
    return [
      field.required(
        path,
        `protected groups must have approval annotation "${APPROVAL}", see https://github.com/kubernetes/enhancements/pull/1111`,
      ),
    ];
  if (value.startsWith('unapproved')) return [];
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return [];
  } catch {
    /* not a URL */
  }
  return [
    field.invalid(
      path,
      value,
      `protected groups must have approval annotation "${APPROVAL}" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111`,
    ),
  ];
}

/** ValidateCustomResourceDefinition / ValidateCustomResourceDefinitionUpdate */
export function validateCrd(crd: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = rec(crd.spec);
  const required = `${str(rec(spec.names).plural)}.${str(spec.group)}`;
  const out = validateObjectMeta(crd, {
    namespaced: false,
    nameFn: (name, prefix) => {
      const errs = nameIsDNSSubdomain(name, prefix);
      if (name !== required) errs.push('must be spec.names.plural+"."+spec.group');
      return errs;
    },
  });
  out.push(...specErrors(spec, old ? expressionsOf(old) : undefined));
  out.push(...approvalErrors(crd));
  out.push(...namesErrors(rec(rec(crd.status).acceptedNames), 'status.acceptedNames'));
  if (old) {
    const os = rec(old.spec);
    if (isEstablished(old)) {
      if (spec.scope !== os.scope) out.push(immutable('spec.scope', JSON.stringify(spec.scope)));
      if (rec(spec.names).kind !== rec(os.names).kind)
        out.push(immutable('spec.names.kind', JSON.stringify(rec(spec.names).kind)));
    }
    if (spec.group !== os.group) out.push(immutable('spec.group', JSON.stringify(spec.group)));
    if (rec(spec.names).plural !== rec(os.names).plural)
      out.push(immutable('spec.names.plural', JSON.stringify(rec(spec.names).plural)));
    const versions = new Set(arr(spec.versions).map((v) => str(rec(v).name)));
    arr(rec(crd.status).storedVersions).forEach((v, i) => {
      if (!versions.has(str(v)))
        out.push(field.invalid(`status.storedVersions[${i}]`, v, 'must appear in spec.versions'));
    });
  }
  return out;
}

export function isEstablished(crd: KubeObject): boolean {
  return isConditionTrue(crd.status?.conditions, 'Established');
}
