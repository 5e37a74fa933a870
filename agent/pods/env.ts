// A container's environment as kubelet's makeEnvironmentVariables builds it:
//   1. the service link variables (service-env.ts) of the Services that exist now,
//   2. envFrom ConfigMaps/Secrets in order, with their prefix; keys that are not valid
//      variable names are skipped and reported (event InvalidEnvironmentVariableNames),
//   3. env in order: values with $(VAR) expansion against what is defined so far (then the
//      service variables); valueFrom fieldRef / resourceFieldRef / configMapKeyRef /
//      secretKeyRef (optional: true skips a missing object or key),
//   4. the service variables not set explicitly.
// The ConfigMaps and Secrets are read first (async, by the pod worker: envReferences
// says which); resolveEnv itself is pure. Errors are kubelet's CreateContainerConfigError messages.
import type { KubeObject } from '../../proto/meta.js';
import type { Container, ResourceFieldSelector } from '../../proto/api/types.gen.js';
import { cpuToMillicores, memoryToBytes, parseQuantity } from '../../proto/quantity.js';
import { expandVars } from '../runtime/command.js';

export interface EnvContext {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

/** the ConfigMaps and Secrets read for a container (null: it does not exist), and the service variables */
export interface EnvSources {
  configMaps: ReadonlyMap<string, KubeObject | null>;
  secrets: ReadonlyMap<string, KubeObject | null>;
  /** service link variables (service-env.ts); none when undefined */
  services?: Record<string, string>;
}

export interface EnvWarning {
  reason: string;
  message: string;
}
export interface ResolvedEnv {
  env: Record<string, string>;
  warnings: EnvWarning[];
}

/** the container cannot be configured: CreateContainerConfigError with this message */
export class ContainerConfigError extends Error {}

const NO_SOURCES: EnvSources = { configMaps: new Map(), secrets: new Map() };

/** validation.IsEnvVarName */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
export function isEnvVarName(s: string): boolean {
  return ENV_VAR_NAME.test(s);
}

/** the ConfigMaps and Secrets (by name, in the pod's namespace) a container's environment reads */
export function envReferences(container: Pick<Container, 'env' | 'envFrom'> | undefined): {
  configMaps: Set<string>;
  secrets: Set<string>;
} {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const ef of container?.envFrom ?? []) {
    if (ef?.configMapRef?.name) configMaps.add(ef.configMapRef.name);
    if (ef?.secretRef?.name) secrets.add(ef.secretRef.name);
  }
  for (const e of container?.env ?? []) {
    const vf = e?.valueFrom;
    if (vf?.configMapKeyRef?.name) configMaps.add(vf.configMapKeyRef.name);
    if (vf?.secretKeyRef?.name) secrets.add(vf.secretKeyRef.name);
  }
  return { configMaps, secrets };
}

export function fieldRef(pod: KubeObject, path: string, ctx: EnvContext): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] as Record<string, string> | undefined)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return ctx.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return ctx.podIP;
    case 'status.podIPs':
      return ctx.podIP;
    case 'status.hostIP':
      return ctx.hostIP;
    case 'status.hostIPs':
      return ctx.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldRef ${path}`);
  }
}

/** kubelet's ExtractContainerResourceValue: ceil(value / divisor); a divisor of 0 (the API default) counts as 1 */
export function resourceFieldRef(
  container: Pick<Container, 'resources'> | undefined,
  ref: ResourceFieldSelector,
  pod: KubeObject,
): string {
  const target: Pick<Container, 'resources'> | undefined = ref.containerName
    ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
        (c: { name: string }) => c.name === ref.containerName,
      )
    : container;
  const [kind, res] = ref.resource.split('.') as ['limits' | 'requests', string];
  const v = target?.resources?.[kind]?.[res];
  let divisor = ref.divisor !== undefined && ref.divisor !== null ? parseQuantity(ref.divisor) : 1;
  if (!(divisor > 0)) divisor = 1;
  if (v === undefined) return '0';
  if (res === 'cpu') return String(Math.ceil(cpuToMillicores(v) / Math.max(1, Math.round(divisor * 1000))));
  const n = res === 'memory' ? memoryToBytes(v) : parseQuantity(v);
  return String(Math.ceil(n / divisor));
}

const stringData = (o: KubeObject): Record<string, string> =>
  (o.data && typeof o.data === 'object' ? o.data : {}) as Record<string, string>;
/** Secret data is base64 in the API */
const decode = (v: unknown): string => Buffer.from(String(v ?? ''), 'base64').toString('utf8');

function lookup(
  kind: 'configmap' | 'secret',
  sources: ReadonlyMap<string, KubeObject | null>,
  name: string | undefined,
): KubeObject | null {
  const o = name === undefined ? undefined : sources.get(name);
  // the worker reads every referenced object first; one missing here was never read
  if (o === undefined) throw new ContainerConfigError(`${kind} "${name}" was not read`);
  return o;
}

export function resolveEnv(
  pod: KubeObject,
  container: Container,
  ctx: EnvContext,
  sources: EnvSources = NO_SOURCES,
): ResolvedEnv {
  const ns = pod.metadata.namespace ?? 'default';
  // no prototype: "__proto__" is a valid variable name
  const env: Record<string, string> = Object.create(null);
  const warnings: EnvWarning[] = [];
  const serviceEnv = sources.services ?? {};

  for (const ef of container.envFrom ?? []) {
    const prefix: string = ef.prefix ?? '';
    const isCm = !!ef.configMapRef;
    const ref = isCm ? ef.configMapRef : ef.secretRef;
    if (!ref) continue;
    const kind = isCm ? 'configmap' : 'secret';
    const obj = lookup(kind, isCm ? sources.configMaps : sources.secrets, ref.name);
    if (!obj) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind} "${ref.name}" not found`);
    }
    const invalid: string[] = [];
    for (const [key, value] of Object.entries(stringData(obj))) {
      const k = prefix + key;
      if (!isEnvVarName(k)) {
        invalid.push(k);
        continue;
      }
      env[k] = isCm ? String(value ?? '') : decode(value);
    }
    if (invalid.length) {
      warnings.push({
        reason: 'InvalidEnvironmentVariableNames',
        message: `Keys [${invalid.sort().join(', ')}] from the EnvFrom ${isCm ? 'configMap' : 'secret'} ${ns}/${ref.name} were skipped since they are considered invalid environment variable names.`,
      });
    }
  }

  for (const e of container.env ?? []) {
    const value = e.value === undefined || e.value === null ? '' : String(e.value);
    if (value !== '') {
      env[e.name] = expandVars(value, Object.assign(Object.create(null), serviceEnv, env));
      continue;
    }
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = '';
      continue;
    }
    if (vf.fieldRef) env[e.name] = fieldRef(pod, vf.fieldRef.fieldPath, ctx);
    else if (vf.resourceFieldRef) env[e.name] = resourceFieldRef(container, vf.resourceFieldRef, pod);
    else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const isCm = !!vf.configMapKeyRef;
      const ref = vf.configMapKeyRef ?? vf.secretKeyRef!;
      const obj = lookup(isCm ? 'configmap' : 'secret', isCm ? sources.configMaps : sources.secrets, ref.name);
      if (!obj) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`${isCm ? 'configmap' : 'secret'} "${ref.name}" not found`);
      }
      const data = stringData(obj);
      if (!Object.hasOwn(data, ref.key)) {
        if (ref.optional) continue;
        throw new ContainerConfigError(
          `couldn't find key ${ref.key} in ${isCm ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name}`,
        );
      }
      env[e.name] = isCm ? String(data[ref.key] ?? '') : decode(data[ref.key]);
    } else {
      throw new ContainerConfigError(`env ${e.name}: unsupported valueFrom`);
    }
  }

  for (const [k, v] of Object.entries(serviceEnv)) if (!(k in env)) env[k] = v;
  return { env, warnings };
}
