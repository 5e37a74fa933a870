// Server-side tables of custom resources: the Name column, then the version's
// additionalPrinterColumns (or Age when there are none), cells computed as
// apiextensions-apiserver's tableconvertor does (jsonPath, one result, typed cells,
// `date` as a human age).
import type { KubeObject } from '../../proto/meta.js';
import type { TableColumn } from '../resources/types.js';
import { NAME_DESCRIPTION } from '../resources/columns.js';
import { since } from '../resources/age.js';
import { findResults, parseJsonPath, printValue } from './jsonpath.js';
import { isRecord } from './schema-types.js';

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

const CREATION_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** serveDefaultColumnsIfEmpty */
export function printerColumns(raw: unknown): PrinterColumn[] {
  const cols = Array.isArray(raw)
    ? raw.filter(isRecord).map((c) => ({
        name: String(c.name ?? ''),
        type: String(c.type ?? 'string'),
        format: typeof c.format === 'string' ? c.format : undefined,
        description: typeof c.description === 'string' ? c.description : undefined,
        priority: typeof c.priority === 'number' ? c.priority : 0,
        jsonPath: String(c.jsonPath ?? ''),
      }))
    : [];
  return cols.length
    ? cols
    : [
        {
          name: 'Age',
          type: 'date',
          description: CREATION_DESCRIPTION,
          jsonPath: '.metadata.creationTimestamp',
          priority: 0,
        },
      ];
}

export function tableColumns(cols: PrinterColumn[]): TableColumn[] {
  return [
    { name: 'Name', type: 'string', format: 'name', description: NAME_DESCRIPTION, priority: 0 },
    ...cols.map(
      (c): TableColumn => ({
        name: c.name,
        type: c.type as TableColumn['type'],
        format: c.format ?? '',
        description: c.description ?? '',
        priority: (c.priority ?? 0) > 0 ? 1 : 0,
      }),
    ),
  ];
}

/** cellForJSONValue */
function cell(type: string, v: unknown, now: number): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'integer':
      return typeof v === 'number' ? Math.trunc(v) : null;
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    case 'date': {
      if (typeof v !== 'string') return null;
      return Number.isNaN(Date.parse(v)) ? '<invalid>' : since(v, now);
    }
    default:
      return printValue(v);
  }
}

/** a row builder for the columns (jsonPaths parsed once) */
export function rowBuilder(cols: PrinterColumn[]): (obj: KubeObject, now: number) => unknown[] {
  const paths = cols.map((c) => {
    try {
      return parseJsonPath(c.jsonPath);
    } catch {
      return undefined;
    }
  });
  return (obj, now) => [
    obj.metadata.name ?? '',
    ...cols.map((c, i) => {
      const p = paths[i];
      if (!p) return null;
      const r = findResults(obj, p);
      return r.length ? cell(c.type, r[0], now) : null;
    }),
  ];
}
