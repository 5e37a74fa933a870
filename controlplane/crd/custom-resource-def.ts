// Builds the ResourceDefs that serve a CustomResourceDefinition's objects, one per served
// version, for the generic REST, storage, table and watch code: pruning, defaulting and
// schema validation (prune-default.ts, schema-validation.ts), printer columns, the status
// and scale subresources, selectable fields, and conversion None (apiVersion rewritten).
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { checkDecode } from '../../proto/schema/check-fields.js';
import { deepEqual } from '../../proto/canonical.js';
import { ApiError } from '../api/errors.js';
import { nameIsDNSSubdomain, validateObjectMeta } from '../resources/meta-validation.js';
import type { ResourceDef, Subresource } from '../resources/types.js';
import { findResults, parseJsonPath, printValue } from './jsonpath.js';
import { printerColumns, rowBuilder, tableColumns } from './printer-columns.js';
import { applySchemaOf } from './apply-schema.js';
import { META_FIELDS, applyDefaults, prune } from './prune-default.js';
import { validateValue } from './schema-validation.js';
import { celCauses } from './cel/validator.js';
import { isRecord, rec, str, strs, type JSONSchemaProps } from './schema-types.js';

/** discovery verbs of every custom resource, in apiextensions-apiserver's order */
export const CR_VERBS = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

export interface CrdNames {
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
}

/** a CustomResourceDefinitionNames read from user JSON */
export function namesOf(v: unknown): CrdNames {
  const n = rec(v);
  return {
    plural: str(n.plural),
    singular: str(n.singular),
    kind: str(n.kind),
    listKind: str(n.listKind),
    shortNames: strs(n.shortNames),
    categories: strs(n.categories),
  };
}

/** the names the CRD is served under: status.acceptedNames (the naming controller's) */
export function acceptedNames(crd: KubeObject): CrdNames {
  return namesOf(crd.status?.acceptedNames);
}

/** unknown fields and pruning of metadata (ObjectMeta) at the root */
function metadataUnknown(obj: KubeObject): string[] {
  if (!isRecord(obj.metadata)) return [];
  return checkDecode(obj.metadata, 'ObjectMeta').unknown.map((p) => `metadata.${p}`);
}

function pruneMetadata(obj: KubeObject): void {
  if (!isRecord(obj.metadata)) return;
  for (const k of Object.keys(obj.metadata))
    if (!META_FIELDS.has(k)) delete (obj.metadata as Record<string, unknown>)[k];
}

/** kube-apiserver's version priority: v1 > v1beta2 > v1beta1 > v1alpha1 > others (alphabetical) */
export function versionPriority(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { kube: false, major: 0, level: 0, minor: 0 };
    return {
      kube: true,
      major: Number(m[1]),
      level: m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3,
      minor: Number(m[3] ?? 0),
    };
  };
  const x = parse(a);
  const y = parse(b);
  if (x.kube !== y.kube) return x.kube ? -1 : 1;
  if (!x.kube) return a < b ? -1 : a > b ? 1 : 0;
  if (x.level !== y.level) return y.level - x.level;
  if (x.major !== y.major) return y.major - x.major;
  return y.minor - x.minor;
}

/** defaultDeprecationWarning: names the newest served version that is not deprecated */
function defaultDeprecationWarning(version: string, spec: Record<string, unknown>, kind: string): string {
  const group = str(spec.group);
  const msg = `${group}/${version} ${kind} is deprecated`;
  const newer = (Array.isArray(spec.versions) ? spec.versions : [])
    .filter(isRecord)
    .filter((v) => v.served === true && v.deprecated !== true && versionPriority(str(v.name), version) < 0)
    .map((v) => str(v.name))
    .sort(versionPriority);
  return newer.length ? `${msg}; use ${group}/${newer[0]} ${kind}` : msg;
}

/** the value at a field path of a validation error (`spec.items[0].name`) */
function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split(/\.|(?=\[)/)) {
    if (!part) continue;
    const idx = /^\[(\d+)\]$/.exec(part);
    if (idx) cur = Array.isArray(cur) ? cur[Number(idx[1])] : undefined;
    else cur = isRecord(cur) ? cur[part] : undefined;
  }
  return cur;
}

/**
 * CRD validation ratcheting (on by default since 1.30): on update, an error about a value
 * that did not change is dropped, so objects stored before a schema tightened stay
 * editable. A missing required field is judged by its parent object.
 */
function ratchet(errors: StatusCause[], obj: KubeObject, old: KubeObject): StatusCause[] {
  return errors.filter((e) => {
    if (!e.field) return true;
    const path = e.reason === 'FieldValueRequired' ? e.field.replace(/(\.[^.[]+|\[\d+\])$/, '') : e.field;
    return !deepEqual(valueAt(obj, path), valueAt(old, path));
  });
}

export interface ServedVersion {
  def: ResourceDef;
  schema: JSONSchemaProps;
}

/** the ResourceDefs of a CRD's served versions, best version first */
export function customResourceDefs(crd: KubeObject, terminating: () => boolean): ServedVersion[] {
  const spec = crd.spec as Record<string, unknown>;
  const group = str(spec.group);
  const names = acceptedNames(crd);
  const namespaced = spec.scope === 'Namespaced';
  const versions = (Array.isArray(spec.versions) ? spec.versions : [])
    .filter(isRecord)
    .filter((v) => v.served === true);
  const out: ServedVersion[] = [];
  for (const v of versions) {
    const version = str(v.name);
    const schema = (
      isRecord(v.schema) && isRecord(v.schema.openAPIV3Schema)
        ? v.schema.openAPIV3Schema
        : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
    ) as JSONSchemaProps;
    const sub = isRecord(v.subresources) ? v.subresources : {};
    const hasStatus = isRecord(sub.status);
    const scale = isRecord(sub.scale) ? sub.scale : undefined;
    const subresources: Subresource[] = [];
    if (hasStatus) subresources.push('status');
    if (scale) subresources.push('scale');
    const cols = printerColumns(v.additionalPrinterColumns);
    const row = rowBuilder(cols);
    const apiVersion = `${group}/${version}`;
    const deprecationWarning =
      v.deprecated === true
        ? typeof v.deprecationWarning === 'string'
          ? v.deprecationWarning
          : defaultDeprecationWarning(version, spec, names.kind)
        : undefined;
    const fields: Record<string, (o: KubeObject) => string | undefined> = {};
    for (const f of Array.isArray(v.selectableFields) ? v.selectableFields.filter(isRecord) : []) {
      const p = str(f.jsonPath);
      try {
        const steps = parseJsonPath(p);
        fields[p.slice(1)] = (o) => {
          const r = findResults(o, steps);
          return r.length ? printValue(r[0]) : '';
        };
      } catch {
        /* refused by validation */
      }
    }
    const validate = (obj: KubeObject, old?: KubeObject): StatusCause[] => {
      const causes = validateObjectMeta(obj, { namespaced, nameFn: nameIsDNSSubdomain });
      const schemaErrors = validateValue(schema, obj, '');
      causes.push(...(old ? ratchet(schemaErrors, obj, old) : schemaErrors));
      causes.push(...celCauses(schema, obj, old, causes));
      return causes;
    };
    const def: ResourceDef = {
      group,
      version,
      kind: names.kind,
      resource: names.plural,
      singular: names.singular,
      namespaced,
      shortNames: names.shortNames,
      categories: names.categories,
      verbs: CR_VERBS,
      subresources,
      hasStatusSubresource: hasStatus,
      hasGeneration: true,
      schema: names.kind,
      defaults(obj) {
        prune(obj, schema);
        pruneMetadata(obj);
        applyDefaults(obj, schema);
      },
      async admit() {
        if (terminating())
          throw new ApiError(
            405,
            'MethodNotAllowed',
            'create not allowed while custom resource definition is terminating',
          );
      },
      validate,
      validateStatus: (obj, old) => validate(obj, old),
      columns: tableColumns(cols),
      row,
      fields,
      custom: {
        crd: crd.metadata.name ?? '',
        // conversion None rewrites the apiVersion; the version's defaults apply on read too,
        // so a default added to the schema later shows on objects stored before
        fromStorage(obj) {
          obj.apiVersion = apiVersion;
          applyDefaults(obj, schema);
        },
        deprecationWarning,
        applySchema: applySchemaOf(schema),
        unknownFields(obj) {
          const copy = structuredClone(obj);
          return [...metadataUnknown(copy), ...prune(copy, schema)];
        },
        scale: scale
          ? {
              specReplicasPath: str(scale.specReplicasPath),
              statusReplicasPath: str(scale.statusReplicasPath),
              labelSelectorPath: str(scale.labelSelectorPath) || undefined,
            }
          : undefined,
      },
    };
    out.push({ def, schema });
  }
  return out.sort((a, b) => versionPriority(a.def.version, b.def.version));
}
