#!/usr/bin/env node
// Writes proto/api/types.gen.ts: one plain TypeScript interface per definition of
// proto/schema/defs.ts (Pod, PodSpec, Container, ...), named as Kubernetes' Go types,
// with the fields upstream's OpenAPI marks required non-optional, and `KindMap` (kind
// name → its interface) for `ObjectOf<'Pod'>`. Reads the built modules in dist/ (run
// after `tsc -p tsconfig.json`): the schema, the served kinds and the OpenAPI names and
// required lists. `--check` compares instead of writing (scripts/test.sh).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'proto/api/types.gen.ts');
const dist = (p) => import(join(ROOT, 'dist', p));

const { defs } = await dist('proto/schema/defs.js');
const { resources, convertedVersions } = await dist('controlplane/resources/index.js');
const { assignNames, kindNames } = await dist('controlplane/api/openapi/build.js');
const { definitionName, shortName } = await dist('controlplane/api/openapi/names.js');
const { descriptions } = await dist('controlplane/api/openapi/schemas.js');

// ---- names --------------------------------------------------------------------------------

/** defs.ts key → upstream full definition name (io.k8s.api.core.v1.PodSpec) */
const served = [...resources, ...convertedVersions];
const fullNames = assignNames(served);
for (const r of served) if (defs[r.schema] && !fullNames.has(r.schema)) fullNames.set(r.schema, kindNames(r).item);
const full = (def) => fullNames.get(def) ?? definitionName(def, '', 'v1');

const keys = Object.keys(defs).sort();
/** the Go type name, or the defs.ts key (which carries the group) where two groups share it */
const goName = new Map();
const byShort = new Map();
for (const k of keys) {
  const s = shortName(full(k));
  byShort.set(s, [...(byShort.get(s) ?? []), k]);
}
for (const [s, ks] of byShort) {
  // the definition whose defs.ts key is the Go name keeps it (core's EndpointPort); the others keep their key
  const owner = ks.length === 1 ? ks[0] : ks.find((k) => k === s);
  for (const k of ks) goName.set(k, k === owner ? s : k);
}
if (new Set(goName.values()).size !== goName.size) throw new Error('gen-types: two definitions map to one name');

// ---- types --------------------------------------------------------------------------------

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const prop = (k) => (IDENT.test(k) ? k : JSON.stringify(k));

function typeOf(s, indent) {
  switch (s.t) {
    case 'string':
      return 'string';
    case 'int':
      return 'number';
    case 'number':
      return 'number';
    case 'bool':
      return 'boolean';
    case 'intOrString':
      return 'IntOrString';
    case 'quantity':
      return 'Quantity';
    case 'time':
      return 'Time';
    case 'any':
      return 'unknown';
    case 'ref': {
      if (!defs[s.name]) throw new Error(`gen-types: reference to unknown definition ${s.name}`);
      return goName.get(s.name);
    }
    case 'map':
      return `Record<string, ${typeOf(s.values, indent)}>`;
    case 'list': {
      const item = typeOf(s.items, indent);
      return /^[A-Za-z0-9_]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case 'object':
      return `{\n${fields(s.fields, [], indent + '  ')}${indent}}`;
    default:
      throw new Error(`gen-types: unknown field schema ${JSON.stringify(s)}`);
  }
}

function fields(fs, required, indent) {
  let out = '';
  for (const k of Object.keys(fs).sort()) {
    out += `${indent}${prop(k)}${required.includes(k) ? '' : '?'}: ${typeOf(fs[k], indent)};\n`;
  }
  return out;
}

const docs = descriptions();
let body = '';
const ordered = keys.map((k) => [goName.get(k), k]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
for (const [name, k] of ordered) {
  const s = defs[k];
  body += `\n/** ${full(k)} */\n`;
  if (s.t !== 'object') {
    body += `export type ${name} = ${typeOf(s, '')};\n`;
    continue;
  }
  const required = (docs[full(k)]?.r ?? []).filter((r) => r in s.fields);
  body += `export interface ${name} {\n${fields(s.fields, required, '  ')}}\n`;
}

// kind name → interface (the first served group version of a kind name wins: core's Event)
const kinds = new Map();
for (const r of resources) if (defs[r.schema] && !kinds.has(r.kind)) kinds.set(r.kind, goName.get(r.schema));
let kindMap =
  "\n/** every served kind with a schema, by kind name: `ObjectOf<'Pod'>` in proto/api/object.ts */\nexport interface KindMap {\n";
for (const k of [...kinds.keys()].sort()) kindMap += `  ${k}: ${kinds.get(k)};\n`;
kindMap += '}\n';
const namespaced = [...kinds.keys()].filter((k) => resources.find((r) => r.kind === k).namespaced).sort();
kindMap += `\n/** the kinds of KindMap whose objects live in a namespace */\nexport type NamespacedKind =\n${namespaced.map((k) => `  | '${k}'`).join('\n')};\n`;

// group resource ("deployments.apps", core's bare "pods") → kind, where every served version
// of it has the kind's interface (autoscaling's v1 and v2 HorizontalPodAutoscaler differ: left out)
const byResource = new Map();
for (const r of served) {
  const gr = r.group ? `${r.resource}.${r.group}` : r.resource;
  const typed = defs[r.schema] && kinds.get(r.kind) === goName.get(r.schema) ? r.kind : null;
  byResource.set(gr, byResource.has(gr) && byResource.get(gr) !== typed ? null : typed);
}
const typedResources = [...byResource].filter(([, k]) => k).sort(([a], [b]) => (a < b ? -1 : 1));
kindMap +=
  "\n/** group resource (`plural.group`, core's bare plural) → its kind in KindMap */\nexport interface ResourceKindMap {\n";
for (const [gr, k] of typedResources) kindMap += `  '${gr}': '${k}';\n`;
kindMap += '}\n';

const text = `// generated by scripts/gen-types.mjs; do not edit
// The JSON shape of every definition of proto/schema/defs.ts as plain interfaces, named as
// Kubernetes' Go types; a field upstream's OpenAPI marks required is not optional.

/** intstr.IntOrString: a port number or name, a count or a percentage */
export type IntOrString = number | string;
/** resource.Quantity in its serialized form ("100m", "1Gi"; a bare number is accepted) */
export type Quantity = string | number;
/** metav1.Time: RFC 3339 text */
export type Time = string;
${body}${kindMap}`;

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(OUT, 'utf8');
  } catch {
    /* absent: differs */
  }
  if (committed !== text) {
    console.error(
      'proto/api/types.gen.ts is not what scripts/gen-types.mjs writes from proto/schema/defs.ts: run `npm run gen` and commit it',
    );
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT.slice(ROOT.length + 1)}: ${keys.length} definitions, ${kinds.size} kinds`);
}
