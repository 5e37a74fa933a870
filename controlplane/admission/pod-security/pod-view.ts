// What a Pod Security check reads of a pod (or a workload's pod template): the metadata and
// the spec, narrowed from the stored JSON, and the helpers the checks share
// (policy/visitor.go, policy/helpers.go): every container in Kubernetes' order (init,
// regular, ephemeral), quoting and pluralising as the forbidden details print them.

export type Rec = Record<string, unknown>;

export interface PodMeta {
  annotations?: Record<string, string>;
}
export interface CheckResult {
  allowed: boolean;
  forbiddenReason?: string;
  forbiddenDetail?: string;
}
export type CheckPodFn = (meta: PodMeta, spec: Rec) => CheckResult;

export const ALLOWED: CheckResult = Object.freeze({ allowed: true });

export function rec(v: unknown): Rec | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined;
}

export function recs(v: unknown): Rec[] {
  return Array.isArray(v) ? v.map(rec).filter((x): x is Rec => !!x) : [];
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** a Go pointer that is set: present and not null */
export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** visitContainers: initContainers, containers, ephemeralContainers */
export function containers(spec: Rec): Rec[] {
  return [...recs(spec.initContainers), ...recs(spec.containers), ...recs(spec.ephemeralContainers)];
}

export function name(c: Rec): string {
  return str(c.name);
}

export function securityContext(o: Rec): Rec | undefined {
  return rec(o.securityContext);
}

export function isWindows(spec: Rec): boolean {
  return rec(spec.os)?.name === 'windows';
}

export function joinQuote(items: string[]): string {
  return items.length ? `"${items.join('", "')}"` : '';
}

export function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** sets.String.List(): unique, sorted bytewise */
export function sortedSet(s: Iterable<string>): string[] {
  return [...new Set(s)].sort();
}

/** Go's %q of a plain string */
export function quote(s: string): string {
  return JSON.stringify(s);
}
