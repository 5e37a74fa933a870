// The HorizontalPodAutoscaler row of kubectl get (pkg/printers/internalversion/printers.go
// printHorizontalPodAutoscaler and formatHPAMetrics): REFERENCE Kind/name, TARGETS as
// `cpu: 63%/50%` (`<unknown>` before the first measurement, two metrics then `+ N more...`),
// MINPODS, MAXPODS, REPLICAS.
import { formatBytes, formatDecimalSI, isValidQuantity, memoryToBytes, scaledValue } from '../../../proto/quantity.js';
import type { HorizontalPodAutoscalerSpec, HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus } from './types.js';

/** resource.Quantity.String(): binary suffixes stay binary, everything else canonical decimal SI */
export function canonicalQuantity(v: string | number | undefined): string {
  if (v === undefined || v === null) return '0';
  if (!isValidQuantity(v)) return String(v);
  const s = String(v);
  if (/[KMGTPE]i$/.test(s)) return formatBytes(memoryToBytes(s));
  return formatDecimalSI(scaledValue(s, -9), -9);
}

function utilizationPair(name: string | undefined, current: number | undefined, target: number | undefined): string {
  const cur = typeof current === 'number' ? `${current}%` : '<unknown>';
  const tgt = typeof target === 'number' ? `${target}%` : '<auto>';
  return `${name ?? ''}: ${cur}/${tgt}`;
}

function formatOne(spec: MetricSpec, status: MetricStatus | undefined): string {
  switch (spec.type) {
    case 'External': {
      const t = spec.external?.target ?? {};
      if (t.averageValue != null) {
        const cur =
          status?.external?.current?.averageValue != null
            ? canonicalQuantity(status.external.current.averageValue)
            : '<unknown>';
        return `${cur}/${canonicalQuantity(t.averageValue)} (avg)`;
      }
      const cur = status?.external ? canonicalQuantity(status.external.current?.value) : '<unknown>';
      return `${cur}/${canonicalQuantity(t.value)}`;
    }
    case 'Pods': {
      const cur = status?.pods ? canonicalQuantity(status.pods.current?.averageValue) : '<unknown>';
      return `${cur}/${canonicalQuantity(spec.pods?.target?.averageValue)}`;
    }
    case 'Object': {
      const t = spec.object?.target ?? {};
      if (t.averageValue != null) {
        const cur =
          status?.object?.current?.averageValue != null
            ? canonicalQuantity(status.object.current.averageValue)
            : '<unknown>';
        return `${cur}/${canonicalQuantity(t.averageValue)} (avg)`;
      }
      const cur = status?.object ? canonicalQuantity(status.object.current?.value) : '<unknown>';
      return `${cur}/${canonicalQuantity(t.value)}`;
    }
    case 'Resource': {
      const r = spec.resource ?? {};
      if (r.target?.averageValue != null) {
        const cur = status?.resource ? canonicalQuantity(status.resource.current?.averageValue) : '<unknown>';
        return `${r.name ?? ''}: ${cur}/${canonicalQuantity(r.target.averageValue)}`;
      }
      return utilizationPair(r.name, status?.resource?.current?.averageUtilization, r.target?.averageUtilization);
    }
    case 'ContainerResource': {
      const r = spec.containerResource ?? {};
      if (r.target?.averageValue != null) {
        const cur = status?.containerResource
          ? canonicalQuantity(status.containerResource.current?.averageValue)
          : '<unknown>';
        return `${r.name ?? ''}: ${cur}/${canonicalQuantity(r.target.averageValue)}`;
      }
      return utilizationPair(
        r.name,
        status?.containerResource?.current?.averageUtilization,
        r.target?.averageUtilization,
      );
    }
    default:
      return '<unknown type>';
  }
}

/** formatHPAMetrics: statuses are matched to specs by position, as upstream does */
export function formatHpaMetrics(specs: MetricSpec[] | undefined, statuses: MetricStatus[] | undefined): string {
  if (!specs?.length) return '<none>';
  const list = specs.map((s, i) => formatOne(s ?? {}, statuses?.[i]));
  const maximum = 2;
  if (list.length > maximum) return `${list.slice(0, maximum).join(', ')} + ${list.length - maximum} more...`;
  return list.join(', ');
}

/** the cells after Name and before Age */
export function hpaCells(
  spec: HorizontalPodAutoscalerSpec | undefined,
  status: HorizontalPodAutoscalerStatus | undefined,
): unknown[] {
  const s = spec ?? {};
  const ref = `${s.scaleTargetRef?.kind ?? ''}/${s.scaleTargetRef?.name ?? ''}`;
  const minPods = typeof s.minReplicas === 'number' ? String(s.minReplicas) : '<unset>';
  return [
    ref,
    formatHpaMetrics(s.metrics, status?.currentMetrics),
    minPods,
    s.maxReplicas ?? 0,
    status?.currentReplicas ?? 0,
  ];
}
