// Server-side printing for kubectl get: meta.k8s.io/v1 Tables built from each kind's
// columns, rows carrying object metadata (kubectl derives NAMESPACE, LABELS and -L from it).
import type { KubeObject } from '../../proto/meta.js';
import type { ResourceDef, TableColumn } from '../resources/types.js';
import { apiVersionOf } from './keys.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((p) => {
    const s = p.replace(/\s+/g, '');
    return s.includes('as=Table') && s.includes('g=meta.k8s.io');
  });
}

/**
 * Metadata-only responses (client-go's metadata client and informers): an Accept alternative
 * `application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1`. Objects become
 * PartialObjectMetadata, lists PartialObjectMetadataList, watch events carry PartialObjectMetadata.
 */
export function wantsMetadataOnly(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((p) => {
    const s = p.replace(/\s+/g, '');
    return (
      /(^|;)as=PartialObjectMetadata(List)?(;|$)/.test(s) &&
      s.includes('g=meta.k8s.io') &&
      !s.startsWith('application/vnd.kubernetes.protobuf')
    );
  });
}

export function partialObjectMetadata(obj: KubeObject): {
  kind: 'PartialObjectMetadata';
  apiVersion: 'meta.k8s.io/v1';
  metadata: KubeObject['metadata'];
} {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function partialObjectMetadataList(list: { metadata: Record<string, unknown>; items: KubeObject[] }) {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: 'meta.k8s.io/v1',
    metadata: list.metadata,
    items: list.items.map(partialObjectMetadata),
  };
}

export function parseIncludeObject(v: unknown): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function rowObject(def: ResourceDef, obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return { apiVersion: apiVersionOf(def), kind: def.kind, ...obj };
  return partialObjectMetadata(obj);
}

export function toTable(
  def: ResourceDef,
  objs: KubeObject[],
  opts: { include: IncludeObject; resourceVersion?: string; continue?: string; withColumns?: boolean; now?: number },
) {
  const now = opts.now ?? Date.now();
  const columns: TableColumn[] = opts.withColumns === false ? [] : def.columns;
  const meta: Record<string, string> = {};
  if (opts.resourceVersion) meta.resourceVersion = opts.resourceVersion;
  if (opts.continue) meta.continue = opts.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: columns,
    rows: objs.map((o) => {
      const row: Record<string, unknown> = { cells: def.row(o, now) };
      const ro = rowObject(def, o, opts.include);
      if (ro !== undefined) row.object = ro;
      return row;
    }),
  };
}
