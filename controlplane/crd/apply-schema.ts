// The merge structure server-side apply uses for a custom resource, from its CRD schema:
// lists with x-kubernetes-list-type map (one key) merge by that key, sets merge as sets,
// every other list is atomic (replaced whole), as structured-merge-diff treats them.
import type { FieldSchema } from '../../proto/schema/types.js';
import { additionalSchema, isRecord, type JSONSchemaProps } from './schema-types.js';

export function applySchemaOf(s: JSONSchemaProps): FieldSchema {
  if (s.type === 'array' && isRecord(s.items)) {
    const items = applySchemaOf(s.items);
    const keys = s['x-kubernetes-list-map-keys'];
    if (
      s['x-kubernetes-list-type'] === 'map' &&
      Array.isArray(keys) &&
      keys.length === 1 &&
      typeof keys[0] === 'string'
    ) {
      return { t: 'list', items, strategy: 'merge', mergeKey: keys[0] };
    }
    if (s['x-kubernetes-list-type'] === 'set') return { t: 'list', items, strategy: 'merge' };
    return { t: 'list', items };
  }
  if (isRecord(s.properties)) {
    const fields: Record<string, FieldSchema> = {};
    for (const [k, v] of Object.entries(s.properties)) if (isRecord(v)) fields[k] = applySchemaOf(v);
    return { t: 'object', fields };
  }
  const add = additionalSchema(s);
  if (add) return { t: 'map', values: applySchemaOf(add) };
  return { t: 'any' };
}
