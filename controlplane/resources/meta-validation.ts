// Name, label, annotation and ObjectMeta validation with apimachinery's exact messages
// (k8s.io/apimachinery/pkg/util/validation and pkg/api/validation/objectmeta.go).
import type { KubeObject, ObjectMeta, StatusCause } from '../../proto/meta.js';
import type { OwnerReference } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { isRecord } from '../../proto/is-record.js';

// ---- message builders (util/validation) -------------------------------------------

export const maxLenError = (n: number): string => `must be no more than ${n} characters`;
export const emptyError = (): string => 'must be non-empty';
export const inclusiveRangeError = (lo: number, hi: number): string => `must be between ${lo} and ${hi}, inclusive`;
export const IS_NEGATIVE_ERROR_MSG = 'must be greater than or equal to 0';
export const FIELD_IMMUTABLE_ERROR_MSG = 'field is immutable';

/** validation.RegexError, including its "'a',  or 'b', " joining quirk. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';

const full = (fmt: string): RegExp => new RegExp(`^${fmt}$`);
const dns1123LabelRe = full(DNS1123_LABEL_FMT);
const dns1123SubdomainRe = full(DNS1123_SUBDOMAIN_FMT);
const dns1035LabelRe = full(DNS1035_LABEL_FMT);
const qnameRe = full(QNAME_FMT);
const labelValueRe = full(LABEL_VALUE_FMT);
const configMapKeyRe = full(CONFIG_MAP_KEY_FMT);

const DNS1123_LABEL_ERR =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_ERR =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QNAME_ERR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const CONFIG_MAP_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

const byteLen = (s: string): number => Buffer.byteLength(s, 'utf8');

export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!dns1123LabelRe.test(value)) {
    // A valid subdomain that is not a label can only be failing on dots.
    if (dns1123SubdomainRe.test(value)) errs.push('must not contain dots');
    else errs.push(regexError(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 253) errs.push(maxLenError(253));
  if (!dns1123SubdomainRe.test(value))
    errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!dns1035LabelRe.test(value)) errs.push(regexError(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  return errs;
}

export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part ' + emptyError());
    else for (const m of isDNS1123Subdomain(prefix)) errs.push('prefix part ' + m);
  } else {
    return [
      'a qualified name ' +
        regexError(QNAME_ERR, QNAME_FMT, 'MyName', 'my.name', '123-abc') +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part ' + emptyError());
  else if (byteLen(name) > 63) errs.push('name part ' + maxLenError(63));
  if (!qnameRe.test(name)) errs.push('name part ' + regexError(QNAME_ERR, QNAME_FMT, 'MyName', 'my.name', '123-abc'));
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(value))
    errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

export function isConfigMapKey(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 253) errs.push(maxLenError(253));
  if (!configMapKeyRe.test(value))
    errs.push(regexError(CONFIG_MAP_KEY_ERR, CONFIG_MAP_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  if (value === '.') errs.push("must not be '.'");
  else if (value === '..') errs.push("must not be '..'");
  else if (value.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

export function isValidPortNum(port: unknown): string[] {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : [inclusiveRangeError(1, 65535)];
}

export function isValidPortName(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.startsWith('-') || port.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

// ---- name functions (api/validation NameIs*) ----------------------------------------

/** Validates a name; `prefix` is true for generateName, where a trailing '-' is allowed. */
export type NameFn = (name: string, prefix: boolean) => string[];

const maskTrailingDash = (name: string): string =>
  name.length > 1 && name.endsWith('-') ? name.slice(0, -2) + 'a' : name;

export const nameIsDNSSubdomain: NameFn = (n, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(n) : n);
export const nameIsDNSLabel: NameFn = (n, prefix) => isDNS1123Label(prefix ? maskTrailingDash(n) : n);
export const nameIsDNS1035Label: NameFn = (n, prefix) => isDNS1035Label(prefix ? maskTrailingDash(n) : n);

// ---- field helpers ------------------------------------------------------------------

/** field.Invalid with a value already rendered the way Go prints it (maps, structs). */
export function invalidRendered(path: string, rendered: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${rendered}: ${detail}`, field: path };
}

export function notFoundField(path: string, value: unknown): StatusCause {
  return { reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(value)}`, field: path };
}

export function validateNonnegative(value: unknown, path: string): StatusCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'number' || !Number.isInteger(value)) return [field.invalid(path, value, 'must be an integer')];
  return value < 0 ? [field.invalid(path, value, IS_NEGATIVE_ERROR_MSG)] : [];
}

/** A JSON object (not null, not a list), its fields not yet looked at: the guard lives in proto/ */
export { isRecord };

/**
 * `v`, a field read with its generated type, holds a JSON object (not null, not a list).
 * Unlike isRecord it keeps that type (isRecord would narrow an all-optional one to a bare record).
 */
export function isJsonObject<T extends object>(v: T | null | undefined): v is T {
  return isRecord(v);
}

/**
 * An object as the schema decoder lets it through (proto/schema/check-fields.ts): each field
 * it holds has the JSON type of T's field, but any field may be null (unset) and fields T
 * requires may be missing, as validation still has to report them.
 */
export type Decoded<T> = { [K in keyof T]?: T[K] | null };

/**
 * `v` is a JSON object read as a decoded T: only the object is checked here, its fields'
 * JSON types are the schema decoder's guarantee (defaulting and validation run after it).
 */
export function isDecoded<T extends object>(v: unknown): v is Decoded<T> {
  return isRecord(v);
}

// ---- labels, annotations, ObjectMeta ------------------------------------------------

export function validateLabels(labels: unknown, path: string): StatusCause[] {
  if (labels === undefined || labels === null) return [];
  if (!isRecord(labels)) return [field.invalid(path, labels, 'must be a map of string keys to string values')];
  const out: StatusCause[] = [];
  for (const k of Object.keys(labels).sort()) {
    for (const m of isQualifiedName(k)) out.push(field.invalid(path, k, m));
    const v = labels[k];
    if (typeof v !== 'string') {
      out.push(field.invalid(path, v, 'must be a string'));
      continue;
    }
    for (const m of isValidLabelValue(v)) out.push(field.invalid(path, v, m));
  }
  return out;
}

export const TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024;

export function validateAnnotations(annotations: unknown, path: string): StatusCause[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isRecord(annotations))
    return [field.invalid(path, annotations, 'must be a map of string keys to string values')];
  const out: StatusCause[] = [];
  let total = 0;
  for (const k of Object.keys(annotations).sort()) {
    // Annotation keys are qualified names where case does not matter.
    for (const m of isQualifiedName(k.toLowerCase())) out.push(field.invalid(path, k, m));
    total += byteLen(k) + byteLen(String(annotations[k] ?? ''));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT_B) out.push(field.tooLong(path, '', TOTAL_ANNOTATION_SIZE_LIMIT_B));
  return out;
}

function validateFinalizers(finalizers: unknown, path: string): StatusCause[] {
  if (finalizers === undefined || finalizers === null) return [];
  if (!Array.isArray(finalizers)) return [field.invalid(path, finalizers, 'must be a list of strings')];
  const out: StatusCause[] = [];
  for (const f of finalizers) {
    for (const m of isQualifiedName(String(f))) out.push(field.invalid(path, f, m));
  }
  return out;
}

function validateOwnerReferences(refs: unknown, path: string): StatusCause[] {
  if (refs === undefined || refs === null) return [];
  if (!Array.isArray(refs)) return [field.invalid(path, refs, 'must be a list')];
  const out: StatusCause[] = [];
  let controllers = 0;
  refs.forEach((r: Decoded<OwnerReference> | null | undefined) => {
    if (!r?.apiVersion) out.push(field.invalid(`${path}.apiVersion`, r?.apiVersion ?? '', 'version must not be empty'));
    if (!r?.kind) out.push(field.invalid(`${path}.kind`, r?.kind ?? '', 'kind must not be empty'));
    if (!r?.name) out.push(field.invalid(`${path}.name`, r?.name ?? '', 'name must not be empty'));
    if (!r?.uid) out.push(field.invalid(`${path}.uid`, r?.uid ?? '', 'uid must not be empty'));
    if (r?.controller === true) controllers += 1;
  });
  if (controllers > 1) out.push(field.invalid(path, '', 'Only one reference can have Controller set to true'));
  return out;
}

export interface MetaRules {
  namespaced: boolean;
  nameFn: NameFn;
}

/**
 * ValidateObjectMeta: name (or generateName when the name is still to be generated),
 * namespace presence per scope, labels, annotations, finalizers, ownerReferences.
 */
export function validateObjectMeta(obj: KubeObject, rules: MetaRules, path = 'metadata'): StatusCause[] {
  const meta: ObjectMeta = isRecord(obj.metadata) ? obj.metadata : {};
  const out: StatusCause[] = [];
  const name = typeof meta.name === 'string' ? meta.name : '';
  const generateName = typeof meta.generateName === 'string' ? meta.generateName : '';
  if (generateName)
    for (const m of rules.nameFn(generateName, true)) out.push(field.invalid(`${path}.generateName`, generateName, m));
  if (!name) {
    // The API layer generates the name from generateName before storing.
    if (!generateName) out.push(field.required(`${path}.name`, 'name or generateName is required'));
  } else {
    for (const m of rules.nameFn(name, false)) out.push(field.invalid(`${path}.name`, name, m));
  }
  const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (rules.namespaced) {
    if (!ns) out.push(field.required(`${path}.namespace`));
    else for (const m of nameIsDNSLabel(ns, false)) out.push(field.invalid(`${path}.namespace`, ns, m));
  } else if (ns) {
    out.push(field.forbidden(`${path}.namespace`, 'not allowed on this type'));
  }
  out.push(...validateNonnegative(meta.generation, `${path}.generation`));
  out.push(...validateLabels(meta.labels, `${path}.labels`));
  out.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  out.push(...validateOwnerReferences(meta.ownerReferences, `${path}.ownerReferences`));
  out.push(...validateFinalizers(meta.finalizers, `${path}.finalizers`));
  return out;
}

/** ValidateImmutableField with a Go-rendered value. */
export function immutable(path: string, rendered: string): StatusCause {
  return invalidRendered(path, rendered, FIELD_IMMUTABLE_ERROR_MSG);
}
