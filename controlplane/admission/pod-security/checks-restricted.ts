// The restricted checks of the Pod Security Standards, each as k8s.io/pod-security-admission
// policy/check_<id>.go writes it (v1.32): same conditions, same forbidden reasons and details.
import { validSeccompType } from './checks-baseline.js';
import {
  ALLOWED,
  containers,
  isSet,
  isWindows,
  joinQuote,
  name,
  pluralize,
  rec,
  recs,
  securityContext,
  sortedSet,
  str,
  strs,
  type CheckPodFn,
  type Rec,
} from './pod-view.js';

export const allowPrivilegeEscalation_1_8: CheckPodFn = (_m, spec) => {
  const bad = containers(spec)
    .filter((c) => {
      const v = securityContext(c)?.allowPrivilegeEscalation;
      return !isSet(v) || v === true;
    })
    .map(name);
  if (!bad.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'allowPrivilegeEscalation != false',
    forbiddenDetail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must set securityContext.allowPrivilegeEscalation=false`,
  };
};

export const allowPrivilegeEscalation_1_25: CheckPodFn = (m, spec) =>
  isWindows(spec) ? ALLOWED : allowPrivilegeEscalation_1_8(m, spec);

export const capabilitiesRestricted_1_22: CheckPodFn = (_m, spec) => {
  const missingDropAll: string[] = [];
  const adding: string[] = [];
  const forbidden = new Set<string>();
  for (const c of containers(spec)) {
    const caps = rec(securityContext(c)?.capabilities);
    if (!caps) {
      missingDropAll.push(name(c));
      continue;
    }
    if (!strs(caps.drop).includes('ALL')) missingDropAll.push(name(c));
    let added = false;
    for (const cap of strs(caps.add)) {
      if (cap !== 'NET_BIND_SERVICE') {
        added = true;
        forbidden.add(cap);
      }
    }
    if (added) adding.push(name(c));
  }
  const details: string[] = [];
  if (missingDropAll.length)
    details.push(
      `${pluralize('container', 'containers', missingDropAll.length)} ${joinQuote(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`,
    );
  if (adding.length)
    details.push(
      `${pluralize('container', 'containers', adding.length)} ${joinQuote(adding)} must not include ${joinQuote(sortedSet(forbidden))} in securityContext.capabilities.add`,
    );
  if (!details.length) return ALLOWED;
  return { allowed: false, forbiddenReason: 'unrestricted capabilities', forbiddenDetail: details.join('; ') };
};

export const capabilitiesRestricted_1_25: CheckPodFn = (m, spec) =>
  isWindows(spec) ? ALLOWED : capabilitiesRestricted_1_22(m, spec);

const ALLOWED_VOLUME_SOURCES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];
/** the switch's order in check_restrictedVolumes.go: the first source set names the type */
const RESTRICTED_VOLUME_SOURCES: [field: string, type: string][] = [
  ['hostPath', 'hostPath'],
  ['gcePersistentDisk', 'gcePersistentDisk'],
  ['awsElasticBlockStore', 'awsElasticBlockStore'],
  ['gitRepo', 'gitRepo'],
  ['nfs', 'nfs'],
  ['iscsi', 'iscsi'],
  ['glusterfs', 'glusterfs'],
  ['rbd', 'rbd'],
  ['flexVolume', 'flexVolume'],
  ['cinder', 'cinder'],
  ['cephfs', 'cephfs'],
  ['flocker', 'flocker'],
  ['fc', 'fc'],
  ['azureFile', 'azureFile'],
  ['vsphereVolume', 'vsphereVolume'],
  ['quobyte', 'quobyte'],
  ['azureDisk', 'azureDisk'],
  ['photonPersistentDisk', 'photonPersistentDisk'],
  ['portworxVolume', 'portworxVolume'],
  ['scaleIO', 'scaleIO'],
  ['storageos', 'storageos'],
];

export const restrictedVolumes_1_0: CheckPodFn = (_m, spec) => {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const v of recs(spec.volumes)) {
    if (ALLOWED_VOLUME_SOURCES.some((f) => isSet(v[f]))) continue;
    bad.push(name(v));
    types.add(RESTRICTED_VOLUME_SOURCES.find(([f]) => isSet(v[f]))?.[1] ?? 'unknown');
  }
  if (!bad.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'restricted volume types',
    forbiddenDetail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('restricted volume type', 'restricted volume types', types.size)} ${joinQuote(sortedSet(types))}`,
  };
};

export const runAsNonRoot_1_0: CheckPodFn = (_m, spec) => {
  const badSetters: string[] = [];
  let podRunAsNonRoot = false;
  const podValue = rec(spec.securityContext)?.runAsNonRoot;
  if (isSet(podValue)) {
    if (podValue !== true) badSetters.push('pod');
    else podRunAsNonRoot = true;
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const v = securityContext(c)?.runAsNonRoot;
    if (isSet(v)) {
      if (v !== true) explicit.push(name(c));
    } else if (!podRunAsNonRoot) implicit.push(name(c));
  }
  if (explicit.length)
    badSetters.push(`${pluralize('container', 'containers', explicit.length)} ${joinQuote(explicit)}`);
  if (badSetters.length)
    return {
      allowed: false,
      forbiddenReason: 'runAsNonRoot != true',
      forbiddenDetail: `${badSetters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
    };
  if (implicit.length)
    return {
      allowed: false,
      forbiddenReason: 'runAsNonRoot != true',
      forbiddenDetail: `pod or ${pluralize('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.runAsNonRoot=true`,
    };
  return ALLOWED;
};

export const runAsUser_1_23: CheckPodFn = (_m, spec) => {
  const badSetters: string[] = [];
  if (rec(spec.securityContext)?.runAsUser === 0) badSetters.push('pod');
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.runAsUser === 0)
    .map(name);
  if (bad.length) badSetters.push(`${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)}`);
  if (!badSetters.length) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'runAsUser=0',
    forbiddenDetail: `${badSetters.join(' and ')} must not set runAsUser=0`,
  };
};

function seccompOf(o: Rec | undefined): Rec | undefined {
  return rec(o?.seccompProfile);
}

export const seccompProfileRestricted_1_19: CheckPodFn = (_m, spec) => {
  const badSetters: string[] = [];
  const badValues = new Set<string>();
  let podSet = false;
  const pod = seccompOf(rec(spec.securityContext));
  if (pod) {
    if (!validSeccompType(pod.type)) {
      badSetters.push('pod');
      badValues.add(str(pod.type));
    } else podSet = true;
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const p = seccompOf(securityContext(c));
    if (p) {
      if (!validSeccompType(p.type)) {
        explicit.push(name(c));
        badValues.add(str(p.type));
      }
    } else if (!podSet) implicit.push(name(c));
  }
  if (explicit.length)
    badSetters.push(`${pluralize('container', 'containers', explicit.length)} ${joinQuote(explicit)}`);
  if (badSetters.length) {
    return {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: `${badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`,
    };
  }
  if (implicit.length) {
    return {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: `pod or ${pluralize('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    };
  }
  return ALLOWED;
};

export const seccompProfileRestricted_1_25: CheckPodFn = (m, spec) =>
  isWindows(spec) ? ALLOWED : seccompProfileRestricted_1_19(m, spec);
