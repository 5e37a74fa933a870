// The custom resources being served right now: the CRD controller puts a CRD's versions
// here once it is Established and takes them away when it goes. findResource/findByKind
// (resources/index.ts), discovery and OpenAPI read it, so REST routing, tables and watches
// of custom resources are the generic ones. One registry per process, as the catalogue
// of built-in kinds is.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { KubeObject } from '../../proto/meta.js';
import type { ResourceDef } from '../resources/types.js';
import type { JSONSchemaProps } from './schema-types.js';
import { customResourceDefs, versionPriority, type ServedVersion } from './custom-resource-def.js';

interface Entry {
  crd: KubeObject;
  versions: ServedVersion[];
  terminating: boolean;
}

const entries = new Map<string, Entry>();
let byResource = new Map<string, ResourceDef>();
let byKind = new Map<string, ResourceDef>();
let generation = 0;
const listeners = new Set<() => void>();

/** called after every change of what is served (the garbage collector follows custom kinds) */
export function onRegistryChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => {
    listeners.delete(fn);
  };
}

function rebuild(): void {
  byResource = new Map();
  byKind = new Map();
  for (const e of entries.values()) {
    for (const v of e.versions) byResource.set(`${v.def.group}/${v.def.version}/${v.def.resource}`, v.def);
    // findByKind answers with the storage version's def when it is served, else the best one
    const storage = (e.crd.spec.versions as { name?: string; storage?: boolean }[]).find((x) => x.storage)?.name;
    const best = e.versions.find((v) => v.def.version === storage) ?? e.versions[0];
    if (best) byKind.set(`${best.def.group}/${best.def.kind}`, best.def);
  }
  generation++;
  for (const fn of listeners) fn();
}

/** serve (or re-serve, after a change) an Established CRD */
export function serveCrd(crd: KubeObject): void {
  const name = crd.metadata.name!;
  const entry: Entry = { crd, versions: [], terminating: !!crd.metadata.deletionTimestamp };
  // the current entry decides: a def taken before the CRD was deleted refuses creates too
  entry.versions = customResourceDefs(crd, () => entries.get(name)?.terminating ?? true);
  entries.set(name, entry);
  rebuild();
}

export function unserveCrd(name: string): void {
  if (entries.delete(name)) rebuild();
}

export function servedCrdNames(): string[] {
  return [...entries.keys()];
}

export function customResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return byResource.get(`${group}/${version}/${plural}`);
}

export function customKind(group: string, kind: string): ResourceDef | undefined {
  return byKind.get(`${group}/${kind}`);
}

/** every served custom resource version, groups and versions in discovery order */
export function customResourceDefsServed(): ResourceDef[] {
  const all = [...entries.values()].flatMap((e) => e.versions.map((v) => v.def));
  return all.sort((a, b) => (a.group === b.group ? versionPriority(a.version, b.version) : a.group < b.group ? -1 : 1));
}

/** one def per served CRD (the storage version's when served), for whole-namespace deletion */
export function customResourceStorageDefs(): ResourceDef[] {
  return [...byKind.values()];
}

/** the schema of a served version, for OpenAPI */
export function customSchema(def: ResourceDef): JSONSchemaProps | undefined {
  const e = def.custom ? entries.get(def.custom.crd) : undefined;
  return e?.versions.find((v) => v.def === def)?.schema;
}

/** bumps on every change: caches of discovery and OpenAPI key on it */
export function registryGeneration(): number {
  return generation;
}
