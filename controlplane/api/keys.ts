// Where objects live in the store: /registry/<group|core>/<resource>/[<namespace>/]<name>.
import type { ResourceDef } from '../resources/types.js';

export function keyFor(def: ResourceDef, namespace: string | undefined, name: string): string {
  const g = def.group || 'core';
  return def.namespaced
    ? `/registry/${g}/${def.resource}/${namespace}/${name}`
    : `/registry/${g}/${def.resource}/${name}`;
}

/** prefix for a list: all namespaces when namespace is undefined */
export function prefixFor(def: ResourceDef, namespace?: string): string {
  const g = def.group || 'core';
  return def.namespaced && namespace
    ? `/registry/${g}/${def.resource}/${namespace}/`
    : `/registry/${g}/${def.resource}/`;
}

export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}
