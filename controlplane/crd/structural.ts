// Is a CRD's openAPIV3Schema structural? apiextensions-apiserver's
// pkg/apiserver/schema/validation.go (ValidateStructural) and the JSONSchemaProps checks of
// pkg/apis/apiextensions/validation (uniqueItems, $ref, additionalProperties next to
// properties), with the same field paths and messages:
// `spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields`.
import type { StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { isRecord, keyPath, type JSONSchemaProps } from './schema-types.js';
import { prune } from './prune-default.js';
import { compilePattern } from './pattern.js';
import { validateValue } from './schema-validation.js';

type Level = 'root' | 'item' | 'field';

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];

/** every error of one schema, sorted by message as ValidateStructural sorts them */
export function validateStructural(schema: unknown, path: string): StatusCause[] {
  if (!isRecord(schema)) return [field.required(path, 'schemas are required')];
  const out: StatusCause[] = [];
  props(schema as JSONSchemaProps, path, 'root', out);
  const rendered = (c: StatusCause) => `${c.field}: ${c.message}`;
  return out.sort((a, b) => (rendered(a) < rendered(b) ? -1 : rendered(a) > rendered(b) ? 1 : 0));
}

function props(s: JSONSchemaProps, path: string, lvl: Level, out: StatusCause[]): void {
  // the JSONSchemaProps checks (ValidateCustomResourceDefinitionOpenAPISchema)
  if (s.$ref !== undefined) out.push(field.forbidden(`${path}.$ref`, '$ref is not supported'));
  if (s.uniqueItems === true)
    out.push(
      field.forbidden(
        `${path}.uniqueItems`,
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  if (s.type !== undefined && (typeof s.type !== 'string' || !TYPES.includes(s.type))) {
    out.push(field.notSupported(`${path}.type`, s.type, TYPES));
  }
  const properties = isRecord(s.properties) ? s.properties : undefined;
  if (s.additionalProperties !== undefined && properties && Object.keys(properties).length) {
    if (s.additionalProperties === false || isRecord(s.additionalProperties)) {
      out.push(
        field.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'),
      );
    }
  }
  if (s.pattern !== undefined) {
    const re = compilePattern(String(s.pattern));
    if (re instanceof Error)
      out.push(
        field.invalid(`${path}.pattern`, s.pattern, `must be a valid regular expression, but isn't: ${re.message}`),
      );
  }

  if (s.default !== undefined && lvl !== 'root') out.push(...defaultErrors(s, `${path}.default`));

  // structural invariants (validateStructuralInvariants)
  if (s.type === 'array' && !isRecord(s.items)) out.push(field.required(`${path}.items`, 'must be specified'));
  if (isRecord(s.items)) props(s.items as JSONSchemaProps, `${path}.items`, 'item', out);
  if (properties) {
    for (const [k, v] of Object.entries(properties)) {
      if (isRecord(v)) props(v as JSONSchemaProps, keyPath(`${path}.properties`, k), 'field', out);
    }
  }
  if (isRecord(s.additionalProperties)) {
    if (lvl === 'root') out.push(field.forbidden(`${path}.additionalProperties`, 'must not be used at the root'));
    props(s.additionalProperties as JSONSchemaProps, `${path}.additionalProperties`, 'field', out);
  }
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  if (intOrString && preserve)
    out.push(
      field.invalid(
        `${path}.x-kubernetes-preserve-unknown-fields`,
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  if (intOrString && embedded)
    out.push(
      field.invalid(
        `${path}.x-kubernetes-embedded-resource`,
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );

  const skipAnyOf = intOrString && isIntOrStringPair(s.anyOf);
  const skipFirstAllOfAnyOf =
    intOrString &&
    Array.isArray(s.allOf) &&
    isRecord(s.allOf[0]) &&
    isIntOrStringPair((s.allOf[0] as JSONSchemaProps).anyOf);
  valueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, lvl, path, out);

  if (embedded && s.type !== 'object') {
    if (!s.type) out.push(field.required(`${path}.type`, 'must be object if x-kubernetes-embedded-resource is true'));
    else out.push(field.invalid(`${path}.type`, s.type, 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (!s.type && !intOrString && !preserve) {
    const why =
      lvl === 'root'
        ? 'must not be empty at the root'
        : lvl === 'item'
          ? 'must not be empty for specified array items'
          : 'must not be empty for specified object fields';
    out.push(field.required(`${path}.type`, why));
  }
  if (embedded && s.additionalProperties !== undefined)
    out.push(
      field.forbidden(`${path}.additionalProperties`, 'must not be used if x-kubernetes-embedded-resource is set'),
    );
  if (lvl === 'root' && s.type && s.type !== 'object')
    out.push(field.invalid(`${path}.type`, s.type, 'must be object at the root'));

  const checkMetadata = lvl === 'root' || embedded;
  const p = properties as Record<string, JSONSchemaProps> | undefined;
  if (p && checkMetadata) {
    if (isRecord(p.kind) && p.kind.type !== 'string')
      out.push(field.invalid(`${keyPath(`${path}.properties`, 'kind')}.type`, p.kind.type ?? '', 'must be string'));
    if (isRecord(p.apiVersion) && p.apiVersion.type !== 'string')
      out.push(
        field.invalid(`${keyPath(`${path}.properties`, 'apiVersion')}.type`, p.apiVersion.type ?? '', 'must be string'),
      );
    if (isRecord(p.metadata) && p.metadata.type !== 'object')
      out.push(
        field.invalid(`${keyPath(`${path}.properties`, 'metadata')}.type`, p.metadata.type ?? '', 'must be object'),
      );
  }
  if (p && lvl === 'root' && isRecord(p.metadata)) {
    const m = p.metadata;
    const names = Object.keys(isRecord(m.properties) ? m.properties : {});
    const onlyNames = names.every((n) => n === 'name' || n === 'generateName');
    const { type: _t, properties: _p, default: _d, description: _desc, ...rest } = m;
    if (!onlyNames || Object.keys(rest).length) {
      out.push(
        field.forbidden(
          keyPath(`${path}.properties`, 'metadata'),
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
        ),
      );
    }
  }
  if (embedded && !preserve && !(properties && Object.keys(properties).length)) {
    out.push(
      field.required(
        `${path}.properties`,
        'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      ),
    );
  }
}

function isIntOrStringPair(v: unknown): boolean {
  if (!Array.isArray(v) || v.length !== 2) return false;
  const [a, b] = v as unknown[];
  return (
    isRecord(a) &&
    isRecord(b) &&
    Object.keys(a).length === 1 &&
    Object.keys(b).length === 1 &&
    a.type === 'integer' &&
    b.type === 'string'
  );
}

/** validateValueValidation: anyOf/allOf/oneOf/not may only restrict values, never declare types */
function valueValidation(
  s: JSONSchemaProps,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  lvl: Level,
  path: string,
  out: StatusCause[],
): void {
  if (!skipAnyOf && Array.isArray(s.anyOf))
    s.anyOf.forEach((x, i) => nested(x, false, lvl, `${path}.anyOf[${i}]`, out));
  if (Array.isArray(s.allOf))
    s.allOf.forEach((x, i) => nested(x, skipFirstAllOfAnyOf && i === 0, lvl, `${path}.allOf[${i}]`, out));
  if (Array.isArray(s.oneOf)) s.oneOf.forEach((x, i) => nested(x, false, lvl, `${path}.oneOf[${i}]`, out));
  if (isRecord(s.not)) nested(s.not, false, lvl, `${path}.not`, out);
}

function nested(x: unknown, skipAnyOf: boolean, lvl: Level, path: string, out: StatusCause[]): void {
  if (!isRecord(x)) return;
  const v = x as JSONSchemaProps;
  valueValidation(v, skipAnyOf, false, lvl, path, out);
  if (isRecord(v.items)) nested(v.items, false, lvl, `${path}.items`, out);
  if (isRecord(v.properties)) {
    for (const [k, f] of Object.entries(v.properties)) nested(f, false, 'field', keyPath(`${path}.properties`, k), out);
  }
  if (v.type) out.push(field.forbidden(`${path}.type`, 'must be empty to be structural'));
  if (v.additionalProperties !== undefined)
    out.push(field.forbidden(`${path}.additionalProperties`, 'must be undefined to be structural'));
  if (v.default !== undefined) out.push(field.forbidden(`${path}.default`, 'must be undefined to be structural'));
  if (v.title) out.push(field.forbidden(`${path}.title`, 'must be empty to be structural'));
  if (v.description) out.push(field.forbidden(`${path}.description`, 'must be empty to be structural'));
  if (v.nullable) out.push(field.forbidden(`${path}.nullable`, 'must be false to be structural'));
  if (v['x-kubernetes-preserve-unknown-fields'])
    out.push(field.forbidden(`${path}.x-kubernetes-preserve-unknown-fields`, 'must be false to be structural'));
  if (v['x-kubernetes-embedded-resource'])
    out.push(field.forbidden(`${path}.x-kubernetes-embedded-resource`, 'must be false to be structural'));
  if (v['x-kubernetes-int-or-string'])
    out.push(field.forbidden(`${path}.x-kubernetes-int-or-string`, 'must be false to be structural'));
  if (isRecord(v.properties) && 'metadata' in v.properties)
    out.push(field.forbidden(keyPath(`${path}.properties`, 'metadata'), 'must not be specified in a nested context'));
}

/** defaulting/validation.go: a default must be pruned already and valid against its own schema */
function defaultErrors(s: JSONSchemaProps, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const copy = structuredClone(s.default);
  prune(copy, s, '', false);
  if (JSON.stringify(copy) !== JSON.stringify(s.default))
    out.push(field.invalid(path, s.default, 'must not have unknown fields'));
  for (const c of validateValue(s, s.default, '')) out.push({ ...c, field: c.field ? `${path}.${c.field}` : path });
  return out;
}
