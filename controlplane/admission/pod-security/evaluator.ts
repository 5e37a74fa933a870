// The check registry and evaluator (policy/checks.go, registry.go): every check with the
// versions its revisions apply from, restricted checks overriding the baseline checks they
// replace, checks run baseline first then restricted, each group sorted by ID (so messages
// list violations in Kubernetes' order); a version newer than the newest check (or latest)
// uses the newest checks. Results aggregate into "reason (detail), reason, …".
import * as b from './checks-baseline.js';
import * as r from './checks-restricted.js';
import type { CheckPodFn, CheckResult, PodMeta, Rec } from './pod-view.js';
import type { Level, LevelVersion } from './policy.js';

interface VersionedCheck {
  minimum: number;
  check: CheckPodFn;
  overrides?: string[];
}
interface Check {
  id: string;
  level: Exclude<Level, 'privileged'>;
  versions: VersionedCheck[];
}

/** every check of the Pod Security Standards as of v1.32 (minimum = minor version of v1.x) */
export const CHECKS: Check[] = [
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minimum: 0, check: b.appArmorProfile_1_0 }] },
  { id: 'capabilities_baseline', level: 'baseline', versions: [{ minimum: 0, check: b.capabilitiesBaseline_1_0 }] },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minimum: 0, check: b.hostNamespaces_1_0 }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ minimum: 0, check: b.hostPathVolumes_1_0 }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minimum: 0, check: b.hostPorts_1_0 }] },
  { id: 'privileged', level: 'baseline', versions: [{ minimum: 0, check: b.privileged_1_0 }] },
  { id: 'procMount', level: 'baseline', versions: [{ minimum: 0, check: b.procMount_1_0 }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minimum: 0, check: b.seLinuxOptions_1_0 },
      { minimum: 31, check: b.seLinuxOptions_1_31 },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    versions: [
      { minimum: 0, check: b.seccompProfileBaseline_1_0 },
      { minimum: 19, check: b.seccompProfileBaseline_1_19 },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minimum: 0, check: b.sysctls_1_0 },
      { minimum: 27, check: b.sysctls_1_27 },
      { minimum: 29, check: b.sysctls_1_29 },
      { minimum: 32, check: b.sysctls_1_32 },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ minimum: 0, check: b.windowsHostProcess_1_0 }] },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minimum: 8, check: r.allowPrivilegeEscalation_1_8 },
      { minimum: 25, check: r.allowPrivilegeEscalation_1_25 },
    ],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minimum: 22, check: r.capabilitiesRestricted_1_22, overrides: ['capabilities_baseline'] },
      { minimum: 25, check: r.capabilitiesRestricted_1_25, overrides: ['capabilities_baseline'] },
    ],
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    versions: [{ minimum: 0, check: r.restrictedVolumes_1_0, overrides: ['hostPathVolumes'] }],
  },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minimum: 0, check: r.runAsNonRoot_1_0 }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minimum: 23, check: r.runAsUser_1_23 }] },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minimum: 19, check: r.seccompProfileRestricted_1_19, overrides: ['seccompProfile_baseline'] },
      { minimum: 25, check: r.seccompProfileRestricted_1_25, overrides: ['seccompProfile_baseline'] },
    ],
  },
];

/** the newest policy version any check has (latest means this) */
export const MAX_VERSION = Math.max(...CHECKS.flatMap((c) => c.versions.map((v) => v.minimum)));

/** the revision of a check in force at minor version `minor`, if any */
function at(check: Check, minor: number): VersionedCheck | undefined {
  let found: VersionedCheck | undefined;
  for (const v of check.versions) if (v.minimum <= minor) found = v;
  return found;
}

function byId(a: Check, b2: Check): number {
  return a.id < b2.id ? -1 : a.id > b2.id ? 1 : 0;
}

const ORDERED = [
  ...CHECKS.filter((c) => c.level === 'baseline').sort(byId),
  ...CHECKS.filter((c) => c.level === 'restricted').sort(byId),
];

/** the checks of one level at one minor version, in message order (registry.go populate) */
function checksFor(level: 'baseline' | 'restricted', minor: number): CheckPodFn[] {
  const overridden = new Set<string>();
  if (level === 'restricted') {
    for (const c of ORDERED)
      if (c.level === 'restricted') for (const o of at(c, minor)?.overrides ?? []) overridden.add(o);
  }
  const out: CheckPodFn[] = [];
  for (const c of ORDERED) {
    if (c.level === 'restricted' && level === 'baseline') continue;
    if (c.level === 'baseline' && overridden.has(c.id)) continue;
    const v = at(c, minor);
    if (v) out.push(v.check);
  }
  return out;
}

const TABLE = {
  baseline: Array.from({ length: MAX_VERSION + 1 }, (_, m) => checksFor('baseline', m)),
  restricted: Array.from({ length: MAX_VERSION + 1 }, (_, m) => checksFor('restricted', m)),
};

/** Evaluator.EvaluatePod: the results of every check of the level at the version */
export function evaluatePod(lv: LevelVersion, meta: PodMeta, spec: Rec): CheckResult[] {
  if (lv.level === 'privileged') return [];
  const minor = lv.version.latest || lv.version.minor > MAX_VERSION ? MAX_VERSION : lv.version.minor;
  return TABLE[lv.level][minor]!.map((check) => check(meta, spec));
}

export interface AggregateResult {
  allowed: boolean;
  reasons: string[];
  details: string[];
}

export function aggregate(results: CheckResult[]): AggregateResult {
  const reasons: string[] = [];
  const details: string[] = [];
  for (const res of results) {
    if (res.allowed) continue;
    reasons.push(res.forbiddenReason || 'unknown forbidden reason');
    details.push(res.forbiddenDetail ?? '');
  }
  return { allowed: reasons.length === 0, reasons, details };
}

/** "host ports, privileged" */
export function forbiddenReason(a: AggregateResult): string {
  return a.reasons.join(', ');
}

/** "host ports (8080), privileged (container "c" must not …)" */
export function forbiddenDetail(a: AggregateResult): string {
  return a.reasons.map((reason, i) => (a.details[i] ? `${reason} (${a.details[i]})` : reason)).join(', ');
}
