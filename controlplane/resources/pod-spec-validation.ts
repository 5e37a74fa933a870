// ValidatePodSpec from pkg/apis/core/validation (v1.32), trimmed to the fields a small
// cluster uses, with the same field paths, order and messages. Runs on defaulted specs.
import type { StatusCause } from '../../proto/meta.js';
import type {
  ConfigMapKeySelector,
  Container,
  ContainerPort,
  EnvVar,
  LifecycleHandler,
  PodSpec,
  Probe,
  SecretKeySelector,
  Toleration,
  Volume,
  VolumeMount,
} from '../../proto/api/types.gen.js';
import { compareQuantities, cpuToMillicores, isValidQuantity, QuantityError } from '../../proto/quantity.js';
import { field } from '../api/errors.js';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isDecoded,
  isDNS1123Label,
  isJsonObject,
  isRecord,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
  notFoundField,
  validateLabels,
  validateNonnegative,
  type Decoded,
} from './meta-validation.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const QUANTITY_MSG = new QuantityError('').message;

const dnsLabel = (value: unknown, path: string): StatusCause[] =>
  isDNS1123Label(String(value)).map((m) => field.invalid(path, value, m));

/** ValidatePortNumOrName: an IntOrString port (probes, targetPort). */
export function validatePortNumOrName(port: unknown, path: string): StatusCause[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => field.invalid(path, port, m));
  if (typeof port === 'string') {
    // A numeric string is a string here, as intstr keeps the JSON type.
    return isValidPortName(port).map((m) => field.invalid(path, port, m));
  }
  return [field.invalid(path, port ?? '', 'must be an integer or a string')];
}

export function validateTaintEffect(effect: unknown, allowEmpty: boolean, path: string): StatusCause[] {
  if (!allowEmpty && !effect) return [field.required(path)];
  if (['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(String(effect))) return [];
  return [field.notSupported(path, effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])];
}

export function validateTolerations(tolerations: unknown, path: string): StatusCause[] {
  if (!Array.isArray(tolerations)) return [];
  const out: StatusCause[] = [];
  tolerations.forEach((t: Decoded<Toleration> | null | undefined, i) => {
    const p = `${path}[${i}]`;
    const key = typeof t?.key === 'string' ? t.key : '';
    const op = t?.operator ?? '';
    if (key) for (const m of isQualifiedName(key)) out.push(field.invalid(`${p}.key`, key, m));
    if (!key && op !== 'Exists') {
      out.push(
        field.invalid(
          `${p}.operator`,
          op,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (t?.tolerationSeconds !== undefined && t?.tolerationSeconds !== null && t?.effect !== 'NoExecute') {
      out.push(
        field.invalid(`${p}.effect`, t?.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"),
      );
    }
    if (op === 'Equal' || op === '') {
      const errs = isValidLabelValue(String(t?.value ?? ''));
      if (errs.length) out.push(field.invalid(`${p}.operator`, t?.value ?? '', errs.join(';')));
    } else if (op === 'Exists') {
      if (t?.value) out.push(field.invalid(`${p}.operator`, t, "value must be empty when `operator` is 'Exists'"));
    } else {
      out.push(field.notSupported(`${p}.operator`, op, ['Equal', 'Exists']));
    }
    if (t?.effect) out.push(...validateTaintEffect(t.effect, true, `${p}.effect`));
  });
  return out;
}

// ---- volumes ---------------------------------------------------------------------

function validateVolumes(volumes: unknown, path: string): { names: Set<string>; errs: StatusCause[] } {
  const names = new Set<string>();
  const errs: StatusCause[] = [];
  if (!Array.isArray(volumes)) return { names, errs };
  volumes.forEach((v: Decoded<Volume> | null | undefined, i) => {
    const p = `${path}[${i}]`;
    const el: StatusCause[] = [];
    const fields: Record<string, unknown> = isJsonObject(v) ? v : {};
    const sources = Object.keys(fields).filter((k) => k !== 'name' && fields[k] !== null && fields[k] !== undefined);
    if (sources.length === 0) el.push(field.required(p, 'must specify a volume type'));
    for (const extra of sources.slice(1))
      el.push(field.forbidden(`${p}.${extra}`, 'may not specify more than 1 volume type'));
    // the one volume source's field (none when several are given)
    const src = sources.length === 1 ? fields[sources[0]!] : undefined;
    const srcField = (k: string): unknown => (isRecord(src) ? src[k] : undefined);
    if (sources[0] === 'hostPath' && !srcField('path')) el.push(field.required(`${p}.hostPath.path`));
    if (sources[0] === 'secret' && !srcField('secretName')) el.push(field.required(`${p}.secret.secretName`));
    if (sources[0] === 'configMap' && !srcField('name')) el.push(field.required(`${p}.configMap.name`));
    if (sources[0] === 'persistentVolumeClaim' && !srcField('claimName'))
      el.push(field.required(`${p}.persistentVolumeClaim.claimName`));
    const name = v?.name;
    if (!name) el.push(field.required(`${p}.name`));
    else el.push(...dnsLabel(name, `${p}.name`));
    if (name && names.has(name)) el.push(field.duplicate(`${p}.name`, name));
    if (el.length === 0 && name)
      names.add(name); // no errors: the name is set
    else errs.push(...el);
  });
  return { names, errs };
}

function validateVolumeMounts(mounts: unknown, volumes: ReadonlySet<string>, path: string): StatusCause[] {
  if (!Array.isArray(mounts)) return [];
  const out: StatusCause[] = [];
  const seen = new Set<string | null | undefined>();
  mounts.forEach((m: Decoded<VolumeMount> | null | undefined, i) => {
    const p = `${path}[${i}]`;
    const name = m?.name;
    if (!name) out.push(field.required(`${p}.name`));
    if (!name || !volumes.has(name)) out.push(notFoundField(`${p}.name`, name ?? ''));
    if (!m?.mountPath) out.push(field.required(`${p}.mountPath`));
    if (seen.has(m?.mountPath)) out.push(field.invalid(`${p}.mountPath`, m?.mountPath, 'must be unique'));
    seen.add(m?.mountPath);
  });
  return out;
}

// ---- env ----------------------------------------------------------------------------

const ENV_FIELD_PATHS = [
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];

function validateKeySelector(sel: Decoded<ConfigMapKeySelector | SecretKeySelector>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  for (const m of nameIsDNSSubdomain(String(sel?.name ?? ''), false))
    out.push(field.invalid(`${path}.name`, sel?.name ?? '', m));
  if (!sel?.key) out.push(field.required(`${path}.key`));
  else for (const m of isConfigMapKey(sel.key)) out.push(field.invalid(`${path}.key`, sel.key, m));
  return out;
}

function validateEnv(env: unknown, path: string): StatusCause[] {
  if (!Array.isArray(env)) return [];
  const out: StatusCause[] = [];
  env.forEach((e: Decoded<EnvVar> | null | undefined, i) => {
    const p = `${path}[${i}]`;
    const name = typeof e?.name === 'string' ? e.name : '';
    if (!name) out.push(field.required(`${p}.name`));
    // RelaxedEnvironmentVariableValidation (beta, on in 1.32): printable ASCII except '='.
    else if (/[^\x20-\x7e]|=/.test(name)) {
      out.push(
        field.invalid(
          `${p}.name`,
          name,
          "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ),
      );
    }
    const vf = e?.valueFrom;
    if (!isJsonObject(vf)) return;
    const vp = `${p}.valueFrom`;
    let sources = 0;
    if (isJsonObject(vf.fieldRef)) {
      sources++;
      const fp = `${vp}.fieldRef`;
      if (!vf.fieldRef.apiVersion) out.push(field.required(`${fp}.apiVersion`));
      const fieldPath = String(vf.fieldRef.fieldPath ?? '');
      if (!fieldPath) out.push(field.required(`${fp}.fieldPath`));
      else if (!ENV_FIELD_PATHS.includes(fieldPath) && !/^metadata\.(labels|annotations)\['[^']+'\]$/.test(fieldPath)) {
        out.push(field.notSupported(`${fp}.fieldPath`, fieldPath, ENV_FIELD_PATHS));
      }
    }
    if (isJsonObject(vf.resourceFieldRef)) {
      sources++;
      if (!vf.resourceFieldRef.resource) out.push(field.required(`${vp}.resourceFieldRef.resource`));
    }
    if (isJsonObject(vf.configMapKeyRef)) {
      sources++;
      out.push(...validateKeySelector(vf.configMapKeyRef, `${vp}.configMapKeyRef`));
    }
    if (isJsonObject(vf.secretKeyRef)) {
      sources++;
      out.push(...validateKeySelector(vf.secretKeyRef, `${vp}.secretKeyRef`));
    }
    if (sources === 0)
      out.push(
        field.invalid(
          vp,
          '',
          'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
        ),
      );
    else if (e?.value) out.push(field.invalid(vp, '', 'may not be specified when `value` is not empty'));
    else if (sources > 1) out.push(field.invalid(vp, '', 'may not have more than one field specified at a time'));
  });
  return out;
}

// ---- resources --------------------------------------------------------------------

const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];
const overcommitAllowed = (name: string): boolean => !name.includes('/') && !name.startsWith('hugepages-');

function validateResourceName(name: string, path: string): StatusCause[] {
  const errs = isQualifiedName(name).map((m) => field.invalid(path, name, m));
  if (errs.length) return errs;
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.includes(name) && !name.startsWith('hugepages-')) {
      return [field.invalid(path, name, 'must be a standard resource for containers')];
    }
  } else if (!name.includes('kubernetes.io/') && name.startsWith('requests.')) {
    return [field.invalid(path, name, "doesn't follow extended resource name standard")];
  }
  return [];
}

function validateQuantity(name: string, q: unknown, path: string): StatusCause[] {
  if (!isValidQuantity(q)) return [field.invalid(path, q, QUANTITY_MSG)];
  if (compareQuantities(q as string, 0) < 0)
    return [field.invalid(path, String(q), 'must be greater than or equal to 0')];
  // Extended resources are counted in whole units (IsIntegerResourceName).
  if (name.includes('/') && cpuToMillicores(q as string) % 1000 !== 0)
    return [field.invalid(path, String(q), 'must be an integer')];
  return [];
}

export function validateResources(res: unknown, path: string): StatusCause[] {
  if (!isRecord(res)) return [];
  const out: StatusCause[] = [];
  const limits: Record<string, unknown> = isRecord(res.limits) ? res.limits : {};
  const requests: Record<string, unknown> = isRecord(res.requests) ? res.requests : {};
  for (const name of Object.keys(limits).sort()) {
    const p = `${path}.limits[${name}]`;
    out.push(...validateResourceName(name, p), ...validateQuantity(name, limits[name], p));
  }
  for (const name of Object.keys(requests).sort()) {
    const p = `${path}.requests[${name}]`;
    const q = requests[name];
    out.push(...validateResourceName(name, p));
    const qErrs = validateQuantity(name, q, p);
    out.push(...qErrs);
    if (name in limits) {
      const lim = limits[name];
      if (qErrs.length || !isValidQuantity(lim)) continue;
      const cmp = compareQuantities(q as string, lim as string);
      if (cmp !== 0 && !overcommitAllowed(name)) {
        out.push(field.invalid(`${path}.requests`, String(q), `must be equal to ${name} limit of ${String(lim)}`));
      } else if (cmp > 0) {
        out.push(
          field.invalid(`${path}.requests`, String(q), `must be less than or equal to ${name} limit of ${String(lim)}`),
        );
      }
    } else if (!overcommitAllowed(name)) {
      out.push(field.required(`${path}.limits`, 'Limit must be set for non overcommitable resources'));
    }
  }
  return out;
}

// ---- probes and handlers -------------------------------------------------------------

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'] as const;

/** a probe's or lifecycle hook's handler: one of exec, httpGet, tcpSocket, grpc (probes) or sleep (hooks) */
type Handler = Decoded<Probe & LifecycleHandler>;

function validateHandler(h: Handler, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  let n = 0;
  for (const kind of HANDLERS) {
    const v = h[kind];
    if (v === undefined || v === null) continue;
    if (n > 0) {
      out.push(field.forbidden(`${path}.${kind}`, 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const p = `${path}.${kind}`;
    if (kind === 'exec') {
      const command = h.exec?.command;
      if (!(Array.isArray(command) && command.length)) out.push(field.required(`${p}.command`));
    }
    if (kind === 'httpGet') {
      const get = h.httpGet;
      if (!get?.path) out.push(field.required(`${p}.path`));
      out.push(...validatePortNumOrName(get?.port, `${p}.port`));
      if (!['HTTP', 'HTTPS'].includes(get?.scheme ?? ''))
        out.push(field.notSupported(`${p}.scheme`, get?.scheme ?? '', ['HTTP', 'HTTPS']));
    }
    if (kind === 'tcpSocket') out.push(...validatePortNumOrName(h.tcpSocket?.port, `${p}.port`));
    if (kind === 'grpc') {
      const port = h.grpc?.port;
      for (const m of isValidPortNum(port)) out.push(field.invalid(`${p}.port`, port, m));
    }
  }
  if (n === 0) out.push(field.required(path, 'must specify a handler type'));
  return out;
}

const PROBE_COUNTS = [
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
] as const;

function validateProbe(probe: Decoded<Probe> | null | undefined, path: string, liveness: boolean): StatusCause[] {
  if (!isJsonObject(probe)) return [];
  const out = validateHandler(probe, path);
  for (const k of PROBE_COUNTS) {
    out.push(...validateNonnegative(probe[k], `${path}.${k}`));
  }
  if (liveness && probe.successThreshold !== 1)
    out.push(field.invalid(`${path}.successThreshold`, probe.successThreshold, 'must be 1'));
  return out;
}

// ---- containers ----------------------------------------------------------------------

function validatePorts(ports: unknown, path: string): StatusCause[] {
  if (!Array.isArray(ports)) return [];
  const out: StatusCause[] = [];
  const names = new Set<string>();
  ports.forEach((port: Decoded<ContainerPort> | null | undefined, i) => {
    const p = `${path}[${i}]`;
    if (port?.name) {
      const msgs = isValidPortName(String(port.name));
      if (msgs.length) for (const m of msgs) out.push(field.invalid(`${p}.name`, port.name, m));
      else if (names.has(port.name)) out.push(field.duplicate(`${p}.name`, port.name));
      else names.add(port.name);
    }
    if (!port?.containerPort) out.push(field.required(`${p}.containerPort`));
    else
      for (const m of isValidPortNum(port.containerPort))
        out.push(field.invalid(`${p}.containerPort`, port.containerPort, m));
    if (port?.hostPort)
      for (const m of isValidPortNum(port.hostPort)) out.push(field.invalid(`${p}.hostPort`, port.hostPort, m));
    if (!port?.protocol) out.push(field.required(`${p}.protocol`));
    else if (!PROTOCOLS.includes(port.protocol))
      out.push(field.notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
  });
  return out;
}

/** a container as the decoder passes it, or a list element that is null */
type DecodedContainer = Decoded<Container> | null | undefined;

function validateContainerCommon(c: DecodedContainer, volumes: ReadonlySet<string>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!c?.name) out.push(field.required(`${path}.name`));
  else out.push(...dnsLabel(c.name, `${path}.name`));
  if (!c?.image) out.push(field.required(`${path}.image`));
  const tmp = c?.terminationMessagePolicy;
  if (!tmp) out.push(field.required(`${path}.terminationMessagePolicy`));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
    out.push(field.notSupported(`${path}.terminationMessagePolicy`, tmp, ['File', 'FallbackToLogsOnError']));
  }
  out.push(...validatePorts(c?.ports, `${path}.ports`));
  out.push(...validateEnv(c?.env, `${path}.env`));
  out.push(...validateVolumeMounts(c?.volumeMounts, volumes, `${path}.volumeMounts`));
  const pull = c?.imagePullPolicy;
  if (!pull) out.push(field.required(`${path}.imagePullPolicy`));
  else if (!['Always', 'IfNotPresent', 'Never'].includes(pull))
    out.push(field.notSupported(`${path}.imagePullPolicy`, pull, ['Always', 'IfNotPresent', 'Never']));
  out.push(...validateResources(c?.resources, `${path}.resources`));
  return out;
}

function validateContainers(containers: unknown, volumes: ReadonlySet<string>, path: string): StatusCause[] {
  if (!Array.isArray(containers) || containers.length === 0) return [field.required(path)];
  const out: StatusCause[] = [];
  const names = new Set<string | null | undefined>();
  containers.forEach((c: DecodedContainer, i) => {
    const p = `${path}[${i}]`;
    out.push(...validateContainerCommon(c, volumes, p));
    if (names.has(c?.name)) out.push(field.duplicate(`${p}.name`, c?.name));
    else names.add(c?.name);
    out.push(...validateProbe(c?.livenessProbe, `${p}.livenessProbe`, true));
    out.push(...validateProbe(c?.readinessProbe, `${p}.readinessProbe`, false));
    out.push(...validateProbe(c?.startupProbe, `${p}.startupProbe`, true));
    if (c?.restartPolicy !== undefined && c?.restartPolicy !== null)
      out.push(field.forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers'));
  });
  return out;
}

const INIT_FORBIDDEN = ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const;

function validateInitContainers(
  inits: unknown,
  containers: unknown,
  volumes: ReadonlySet<string>,
  path: string,
): StatusCause[] {
  if (!Array.isArray(inits)) return [];
  const out: StatusCause[] = [];
  const names = new Set<string | null | undefined>(
    Array.isArray(containers) ? containers.map((c: DecodedContainer) => c?.name) : [],
  );
  inits.forEach((c: DecodedContainer, i) => {
    const p = `${path}[${i}]`;
    out.push(...validateContainerCommon(c, volumes, p));
    const sidecar = c?.restartPolicy === 'Always';
    if (c?.restartPolicy !== undefined && c?.restartPolicy !== null && !sidecar) {
      out.push(field.notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
    }
    if (names.has(c?.name)) out.push(field.duplicate(`${p}.name`, c?.name));
    else if (c?.name) names.add(c.name);
    if (sidecar) {
      out.push(...validateProbe(c?.livenessProbe, `${p}.livenessProbe`, true));
      out.push(...validateProbe(c?.readinessProbe, `${p}.readinessProbe`, false));
      out.push(...validateProbe(c?.startupProbe, `${p}.startupProbe`, true));
    } else {
      for (const k of INIT_FORBIDDEN) {
        if (c?.[k] !== undefined && c?.[k] !== null)
          out.push(field.forbidden(`${p}.${k}`, 'may not be set for init containers without restartPolicy=Always'));
      }
    }
  });
  return out;
}

function checkHostPorts(spec: Decoded<PodSpec>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  (Array.isArray(spec.containers) ? spec.containers : []).forEach((c: DecodedContainer, ci: number) => {
    (Array.isArray(c?.ports) ? c.ports : []).forEach((port: Decoded<ContainerPort> | null | undefined, pi: number) => {
      const p = `${path}.containers[${ci}].ports[${pi}]`;
      if (spec.hostNetwork === true && port?.hostPort !== port?.containerPort) {
        out.push(
          field.invalid(`${p}.containerPort`, port?.containerPort, 'must match `hostPort` when `hostNetwork` is true'),
        );
      }
      if (!port?.hostPort) return;
      const key = `${port.hostIP ?? ''}/${port.protocol ?? ''}/${port.hostPort}`;
      if (seen.has(key)) out.push(field.duplicate(`${p}.hostPort`, key));
      else seen.add(key);
    });
  });
  return out;
}

/** ValidatePodSpec: `path` is "spec" for Pods, "spec.template.spec" for workloads. */
export function validatePodSpec(spec: unknown, path: string): StatusCause[] {
  if (!isDecoded<PodSpec>(spec)) return [field.required(path)];
  const { names: volumes, errs: out } = validateVolumes(spec.volumes, `${path}.volumes`);
  out.push(...validateContainers(spec.containers, volumes, `${path}.containers`));
  out.push(...validateInitContainers(spec.initContainers, spec.containers, volumes, `${path}.initContainers`));
  out.push(...checkHostPorts(spec, path));
  const rp = spec.restartPolicy;
  if (!rp) out.push(field.required(`${path}.restartPolicy`));
  else if (!['Always', 'OnFailure', 'Never'].includes(rp))
    out.push(field.notSupported(`${path}.restartPolicy`, rp, ['Always', 'OnFailure', 'Never']));
  const dns = spec.dnsPolicy;
  const dnsValues = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (!dns) out.push(field.required(`${path}.dnsPolicy`));
  else if (!dnsValues.includes(dns)) out.push(field.notSupported(`${path}.dnsPolicy`, dns, dnsValues));
  out.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  if (dns === 'None' && !isJsonObject(spec.dnsConfig))
    out.push(field.required(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  if (spec.serviceAccountName) {
    for (const m of nameIsDNSSubdomain(String(spec.serviceAccountName), false))
      out.push(field.invalid(`${path}.serviceAccountName`, spec.serviceAccountName, m));
  }
  if (spec.nodeName)
    for (const m of nameIsDNSSubdomain(String(spec.nodeName), false))
      out.push(field.invalid(`${path}.nodeName`, spec.nodeName, m));
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null && !(Number.isInteger(ads) && ads >= 1 && ads <= 2147483647)) {
    out.push(field.invalid(`${path}.activeDeadlineSeconds`, ads, inclusiveRangeError(1, 2147483647)));
  }
  if (spec.hostname) out.push(...dnsLabel(spec.hostname, `${path}.hostname`));
  if (spec.subdomain) out.push(...dnsLabel(spec.subdomain, `${path}.subdomain`));
  out.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  if (spec.preemptionPolicy && !['PreemptLowerPriority', 'Never'].includes(spec.preemptionPolicy)) {
    out.push(field.notSupported(`${path}.preemptionPolicy`, spec.preemptionPolicy, ['PreemptLowerPriority', 'Never']));
  }
  return out;
}
