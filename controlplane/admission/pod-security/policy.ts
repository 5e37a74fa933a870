// Pod Security levels, versions and the per-namespace policy (k8s.io/pod-security-admission
// api/helpers.go, api/constants.go): the pod-security.kubernetes.io/{enforce,audit,warn}[-version]
// labels over the cluster defaults, invalid values handled as Kubernetes does (enforce fails
// closed to restricted, audit and warn fail open to privileged), and the server's
// --pod-security-default flag parsed into the default policy.
import { field } from '../../api/errors.js';
import type { StatusCause } from '../../../proto/meta.js';

export type Level = 'privileged' | 'baseline' | 'restricted';
/** a policy version: v1.minor, or latest (always newest, even than future versions) */
export type Version = { latest: true } | { latest: false; minor: number };
export interface LevelVersion {
  level: Level;
  version: Version;
}
export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

export const LATEST: Version = { latest: true };
export const v1 = (minor: number): Version => ({ latest: false, minor });

const PREFIX = 'pod-security.kubernetes.io/';
export const LABELS = {
  enforce: `${PREFIX}enforce`,
  enforceVersion: `${PREFIX}enforce-version`,
  audit: `${PREFIX}audit`,
  auditVersion: `${PREFIX}audit-version`,
  warn: `${PREFIX}warn`,
  warnVersion: `${PREFIX}warn-version`,
} as const;
/** audit annotation keys are this prefix + enforce-policy, audit-violations, exempt, error */
export const AUDIT_ANNOTATION_PREFIX = PREFIX;

const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];

export function versionString(v: Version): string {
  return v.latest ? 'latest' : `v1.${v.minor}`;
}

export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`;
}

/** Version.Older: latest is never older; everything is older than latest */
export function older(a: Version, b: Version): boolean {
  if (a.latest) return false;
  if (b.latest) return true;
  return a.minor < b.minor;
}

export function sameVersion(a: Version, b: Version): boolean {
  return a.latest ? b.latest : !b.latest && a.minor === b.minor;
}

export function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && sameVersion(a.version, b.version);
}

/** LevelVersion.Equivalent: privileged is privileged at any version */
export function equivalent(a: LevelVersion, b: LevelVersion): boolean {
  return (a.level === 'privileged' && b.level === 'privileged') || sameLevelVersion(a, b);
}

/** ParseLevel: an invalid level reads as restricted (with the error) */
export function parseLevel(s: string): { level: Level; error?: string } {
  if ((LEVELS as string[]).includes(s)) return { level: s as Level };
  return { level: 'restricted', error: `must be one of ${LEVELS.join(', ')}` };
}

/** ParseVersion: "latest" or v1.N (no leading zeros); an invalid one reads as latest */
export function parseVersion(s: string): { version: Version; error?: string } {
  if (s === 'latest') return { version: LATEST };
  const m = /^v1\.([0-9]|[1-9][0-9]*)$/.exec(s);
  if (!m) return { version: LATEST, error: 'must be "latest" or "v1.x"' };
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n)) return { version: LATEST, error: 'must be "latest" or "v1.x"' };
  return { version: v1(n) };
}

/** -1, 0 or 1: privileged < baseline < restricted */
export function compareLevels(a: Level, b: Level): number {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

export function fullyPrivileged(p: Policy): boolean {
  return p.enforce.level === 'privileged' && p.audit.level === 'privileged' && p.warn.level === 'privileged';
}

export function policyEquivalent(a: Policy, b: Policy): boolean {
  return equivalent(a.enforce, b.enforce) && equivalent(a.audit, b.audit) && equivalent(a.warn, b.warn);
}

export const PRIVILEGED_POLICY: Policy = {
  enforce: { level: 'privileged', version: LATEST },
  audit: { level: 'privileged', version: LATEST },
  warn: { level: 'privileged', version: LATEST },
};

function labelCause(label: string, value: string, error: string): StatusCause {
  return field.invalid(`metadata.labels[${label}]`, value, error);
}

/** PolicyToEvaluate: the namespace's labels over the defaults, with the label errors */
export function policyToEvaluate(
  labels: Record<string, string> | undefined,
  defaults: Policy,
): { policy: Policy; errors: StatusCause[] } {
  const p: Policy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const errors: StatusCause[] = [];
  if (!labels || Object.keys(labels).length === 0) return { policy: p, errors };
  const has = (k: string) => Object.hasOwn(labels, k) && typeof labels[k] === 'string';
  let hasEnforceLevel = false;
  if (has(LABELS.enforce)) {
    const r = parseLevel(labels[LABELS.enforce]!);
    p.enforce.level = r.level;
    hasEnforceLevel = !r.error; // don't default warn from an invalid enforce
    if (r.error) errors.push(labelCause(LABELS.enforce, labels[LABELS.enforce]!, r.error));
  }
  if (has(LABELS.enforceVersion)) {
    const r = parseVersion(labels[LABELS.enforceVersion]!);
    p.enforce.version = r.version;
    if (r.error) errors.push(labelCause(LABELS.enforceVersion, labels[LABELS.enforceVersion]!, r.error));
  }
  if (has(LABELS.audit)) {
    const r = parseLevel(labels[LABELS.audit]!);
    p.audit.level = r.error ? 'privileged' : r.level; // fail open for audit
    if (r.error) errors.push(labelCause(LABELS.audit, labels[LABELS.audit]!, r.error));
  }
  if (has(LABELS.auditVersion)) {
    const r = parseVersion(labels[LABELS.auditVersion]!);
    p.audit.version = r.version;
    if (r.error) errors.push(labelCause(LABELS.auditVersion, labels[LABELS.auditVersion]!, r.error));
  }
  const hasWarnLevel = has(LABELS.warn);
  if (hasWarnLevel) {
    const r = parseLevel(labels[LABELS.warn]!);
    p.warn.level = r.error ? 'privileged' : r.level; // fail open for warn
    if (r.error) errors.push(labelCause(LABELS.warn, labels[LABELS.warn]!, r.error));
  }
  const hasWarnVersion = has(LABELS.warnVersion);
  if (hasWarnVersion) {
    const r = parseVersion(labels[LABELS.warnVersion]!);
    p.warn.version = r.version;
    if (r.error) errors.push(labelCause(LABELS.warnVersion, labels[LABELS.warnVersion]!, r.error));
  }
  // an explicit enforce level stricter than warn raises warn to it (so users see what enforce refuses)
  if (!hasWarnLevel && hasEnforceLevel && compareLevels(p.enforce.level, p.warn.level) > 0) {
    p.warn.level = p.enforce.level;
    if (!hasWarnVersion) p.warn.version = p.enforce.version;
  }
  return { policy: p, errors };
}

/**
 * --pod-security-default: `MODE=LEVEL[:VERSION],…` with MODE enforce|audit|warn (each at
 * most once), LEVEL privileged|baseline|restricted, VERSION latest|v1.N; modes not named stay
 * privileged:latest (Kubernetes' default configuration). Throws an Error naming the bad part.
 */
export function parseDefaultPolicy(raw: string | undefined): Policy {
  const p: Policy = {
    enforce: { ...PRIVILEGED_POLICY.enforce },
    audit: { ...PRIVILEGED_POLICY.audit },
    warn: { ...PRIVILEGED_POLICY.warn },
  };
  if (raw === undefined || raw.trim() === '') return p;
  const seen = new Set<string>();
  for (const part of raw.split(',').map((s) => s.trim())) {
    const bad = (why: string) =>
      new Error(
        `--pod-security-default: invalid entry ${JSON.stringify(part)}: ${why} (expected MODE=LEVEL[:VERSION],… with MODE enforce|audit|warn, LEVEL privileged|baseline|restricted, VERSION latest|v1.N)`,
      );
    if (part === '') throw bad('empty entry');
    const eq = part.indexOf('=');
    if (eq < 0) throw bad('missing "="');
    const mode = part.slice(0, eq).trim();
    if (mode !== 'enforce' && mode !== 'audit' && mode !== 'warn') throw bad(`unknown mode ${JSON.stringify(mode)}`);
    if (seen.has(mode)) throw bad(`mode ${mode} given twice`);
    seen.add(mode);
    const [levelText, versionText, ...rest] = part
      .slice(eq + 1)
      .trim()
      .split(':');
    if (rest.length) throw bad('too many ":"');
    const level = parseLevel(levelText ?? '');
    if (level.error) throw bad(`level ${level.error}`);
    const version = versionText === undefined ? { version: LATEST } : parseVersion(versionText);
    if (version.error) throw bad(`version ${version.error}`);
    p[mode] = { level: level.level, version: version.version };
  }
  return p;
}
