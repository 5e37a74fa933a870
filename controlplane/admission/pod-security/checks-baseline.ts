// The baseline checks of the Pod Security Standards, each as k8s.io/pod-security-admission
// policy/check_<id>.go writes it (v1.32): same conditions, same forbidden reasons and details.
import {
  ALLOWED,
  containers,
  joinQuote,
  name,
  pluralize,
  quote,
  rec,
  recs,
  securityContext,
  sortedSet,
  str,
  strs,
  type CheckPodFn,
  type CheckResult,
  type PodMeta,
  type Rec,
} from './pod-view.js';

export const privileged_1_0: CheckPodFn = (_m, spec) => {
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.privileged === true)
    .map(name);
  if (!bad.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'privileged',
    forbiddenDetail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must not set securityContext.privileged=true`,
  };
};

export const hostNamespaces_1_0: CheckPodFn = (_m, spec) => {
  const ns: string[] = [];
  if (spec.hostNetwork === true) ns.push('hostNetwork=true');
  if (spec.hostPID === true) ns.push('hostPID=true');
  if (spec.hostIPC === true) ns.push('hostIPC=true');
  if (!ns.length) return ALLOWED;
  return { allowed: false, forbiddenReason: 'host namespaces', forbiddenDetail: ns.join(', ') };
};

export const hostPathVolumes_1_0: CheckPodFn = (_m, spec) => {
  const bad = recs(spec.volumes)
    .filter((v) => v.hostPath !== undefined && v.hostPath !== null)
    .map(name);
  if (!bad.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'hostPath volumes',
    forbiddenDetail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)}`,
  };
};

export const hostPorts_1_0: CheckPodFn = (_m, spec) => {
  const bad: string[] = [];
  const ports = new Set<string>();
  for (const c of containers(spec)) {
    let valid = true;
    for (const p of recs(c.ports)) {
      if (typeof p.hostPort === 'number' && p.hostPort !== 0) {
        valid = false;
        ports.add(String(p.hostPort));
      }
    }
    if (!valid) bad.push(name(c));
  }
  if (!bad.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'hostPort',
    forbiddenDetail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', ports.size)} ${sortedSet(ports).join(', ')}`,
  };
};

const CAPABILITIES_ALLOWED_1_0 = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

export const capabilitiesBaseline_1_0: CheckPodFn = (_m, spec) => {
  const bad: string[] = [];
  const caps = new Set<string>();
  for (const c of containers(spec)) {
    const capabilities = rec(securityContext(c)?.capabilities);
    if (!capabilities) continue;
    let valid = true;
    for (const cap of strs(capabilities.add)) {
      if (!CAPABILITIES_ALLOWED_1_0.has(cap)) {
        valid = false;
        caps.add(cap);
      }
    }
    if (!valid) bad.push(name(c));
  }
  if (!bad.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'non-default capabilities',
    forbiddenDetail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`,
  };
};

export const procMount_1_0: CheckPodFn = (_m, spec) => {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const c of containers(spec)) {
    const pm = securityContext(c)?.procMount;
    if (pm === undefined || pm === null) continue;
    if (pm !== 'Default') {
      bad.push(name(c));
      types.add(str(pm));
    }
  }
  if (!bad.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'procMount',
    forbiddenDetail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`,
  };
};

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';

function validSeccompAnnotation(v: string): boolean {
  return v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');
}

export function validSeccompType(t: unknown): boolean {
  return t === 'Localhost' || t === 'RuntimeDefault';
}

function annotation(meta: PodMeta, key: string): string | undefined {
  const a = meta.annotations;
  return a && Object.hasOwn(a, key) ? String(a[key]) : undefined;
}

/** v1.0–v1.18: the alpha seccomp annotations */
export const seccompProfileBaseline_1_0: CheckPodFn = (meta, spec) => {
  const forbidden = new Set<string>();
  const podValue = annotation(meta, SECCOMP_POD_ANNOTATION);
  if (podValue !== undefined && !validSeccompAnnotation(podValue))
    forbidden.add(`${SECCOMP_POD_ANNOTATION}=${quote(podValue)}`);
  for (const c of containers(spec)) {
    const key = SECCOMP_CONTAINER_PREFIX + name(c);
    const v = annotation(meta, key);
    if (v !== undefined && !validSeccompAnnotation(v)) forbidden.add(`${key}=${quote(v)}`);
  }
  if (!forbidden.size) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'seccompProfile',
    forbiddenDetail: `forbidden ${pluralize('annotation', 'annotations', forbidden.size)} ${sortedSet(forbidden).join(', ')}`,
  };
};

function seccompType(o: Rec | undefined): { set: boolean; type: string } {
  const p = rec(o?.seccompProfile);
  return p ? { set: true, type: str(p.type) } : { set: false, type: '' };
}

export const seccompProfileBaseline_1_19: CheckPodFn = (_m, spec) => {
  const badSetters: string[] = [];
  const badValues = new Set<string>();
  const pod = seccompType(rec(spec.securityContext));
  if (pod.set && !validSeccompType(pod.type)) {
    badSetters.push('pod');
    badValues.add(pod.type);
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const s = seccompType(securityContext(c));
    if (s.set && !validSeccompType(s.type)) {
      bad.push(name(c));
      badValues.add(s.type);
    }
  }
  if (bad.length) badSetters.push(`${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)}`);
  if (!badSetters.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'seccompProfile',
    forbiddenDetail: `${badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`,
  };
};

const APPARMOR_CONTAINER_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

function allowedAppArmorAnnotation(v: string): boolean {
  return v === '' || v === 'runtime/default' || v.startsWith('localhost/');
}

function allowedAppArmorType(t: string): boolean {
  return t === 'RuntimeDefault' || t === 'Localhost';
}

export const appArmorProfile_1_0: CheckPodFn = (meta, spec) => {
  const badSetters: string[] = [];
  const badValues = new Set<string>();
  const podProfile = rec(rec(spec.securityContext)?.appArmorProfile);
  if (podProfile && !allowedAppArmorType(str(podProfile.type))) {
    badSetters.push('pod');
    badValues.add(str(podProfile.type));
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const p = rec(securityContext(c)?.appArmorProfile);
    if (p && !allowedAppArmorType(str(p.type))) {
      bad.push(name(c));
      badValues.add(str(p.type));
    }
  }
  if (bad.length) badSetters.push(`${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)}`);
  const forbiddenAnnotations: string[] = [];
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    if (k.startsWith(APPARMOR_CONTAINER_PREFIX) && !allowedAppArmorAnnotation(String(v)))
      forbiddenAnnotations.push(`${k}=${quote(String(v))}`);
  }
  const badValueList = sortedSet(badValues);
  if (forbiddenAnnotations.length) {
    forbiddenAnnotations.sort();
    badValueList.push(...forbiddenAnnotations);
    badSetters.push(pluralize('annotation', 'annotations', forbiddenAnnotations.length));
  }
  if (!badSetters.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', badValueList.length),
    forbiddenDetail: `${badSetters.join(' and ')} must not set AppArmor profile type to ${joinQuote(badValueList)}`,
  };
};

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

function seLinuxOptions(spec: Rec, allowedTypes: Set<string>): CheckResult {
  const badSetters: string[] = [];
  const badTypes = new Set<string>();
  let setUser = false;
  let setRole = false;
  const valid = (o: Rec): boolean => {
    let ok = true;
    const t = str(o.type);
    if (!allowedTypes.has(t)) {
      ok = false;
      badTypes.add(t);
    }
    if (str(o.user).length > 0) {
      ok = false;
      setUser = true;
    }
    if (str(o.role).length > 0) {
      ok = false;
      setRole = true;
    }
    return ok;
  };
  const podOpts = rec(rec(spec.securityContext)?.seLinuxOptions);
  if (podOpts && !valid(podOpts)) badSetters.push('pod');
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const o = rec(securityContext(c)?.seLinuxOptions);
    if (o && !valid(o)) bad.push(name(c));
  }
  if (bad.length) badSetters.push(`${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)}`);
  if (!badSetters.length) return ALLOWED;
  const badData: string[] = [];
  if (badTypes.size) badData.push(`${pluralize('type', 'types', badTypes.size)} ${joinQuote(sortedSet(badTypes))}`);
  if (setUser) badData.push('user may not be set');
  if (setRole) badData.push('role may not be set');
  return {
    allowed: false,
    forbiddenReason: 'seLinuxOptions',
    forbiddenDetail: `${badSetters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${badData.join('; ')}`,
  };
}

export const seLinuxOptions_1_0: CheckPodFn = (_m, spec) => seLinuxOptions(spec, SELINUX_TYPES_1_0);
export const seLinuxOptions_1_31: CheckPodFn = (_m, spec) => seLinuxOptions(spec, SELINUX_TYPES_1_31);

const SYSCTLS_1_0 = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports'];
const SYSCTLS_1_29 = [
  ...SYSCTLS_1_27,
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'];

function sysctls(allowed: Set<string>): CheckPodFn {
  return (_m, spec) => {
    const forbidden = recs(rec(spec.securityContext)?.sysctls)
      .map((s) => str(s.name))
      .filter((n) => !allowed.has(n));
    if (!forbidden.length) return ALLOWED;
    return { allowed: false, forbiddenReason: 'forbidden sysctls', forbiddenDetail: forbidden.join(', ') };
  };
}

export const sysctls_1_0 = sysctls(new Set(SYSCTLS_1_0));
export const sysctls_1_27 = sysctls(new Set(SYSCTLS_1_27));
export const sysctls_1_29 = sysctls(new Set(SYSCTLS_1_29));
export const sysctls_1_32 = sysctls(new Set(SYSCTLS_1_32));

export const windowsHostProcess_1_0: CheckPodFn = (_m, spec) => {
  const bad = containers(spec)
    .filter((c) => rec(securityContext(c)?.windowsOptions)?.hostProcess === true)
    .map(name);
  const setters: string[] = [];
  if (rec(rec(spec.securityContext)?.windowsOptions)?.hostProcess === true) setters.push('pod');
  if (bad.length) setters.push(`${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)}`);
  if (!setters.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'hostProcess',
    forbiddenDetail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
  };
};
