// The audit Policy (audit.k8s.io/v1): loaded and validated once at start, then judged for
// every request — the first matching rule gives the level and the stages to omit, as
// apiserver's policy checker (staging/src/k8s.io/apiserver/pkg/audit/policy/checker.go).
// Pure: no I/O but the file read in loadPolicyFile.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export const LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;
export type AuditLevel = (typeof LEVELS)[number];
export const STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
export type AuditStage = (typeof STAGES)[number];

export interface GroupResources {
  group: string;
  resources: string[];
  resourceNames: string[];
}

export interface AuditPolicyRule {
  level: AuditLevel;
  users: string[];
  userGroups: string[];
  verbs: string[];
  resources: GroupResources[];
  namespaces: string[];
  nonResourceURLs: string[];
  omitStages: AuditStage[];
}

export interface AuditPolicy {
  rules: AuditPolicyRule[];
  omitStages: AuditStage[];
}

/** what the policy decided for one request */
export interface RequestAuditConfig {
  level: AuditLevel;
  omitStages: AuditStage[];
}

/** the request as the policy sees it (authorizer.Attributes); no user when authentication failed */
export interface AuditAttributes {
  user?: { name: string; groups: string[] };
  verb: string;
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

/**
 * Without --audit-policy-file: every request at Metadata. RequestReceived is left out (it
 * would double the log with events that carry no outcome), as most published policies do.
 */
export const DEFAULT_POLICY: AuditPolicy = {
  rules: [
    {
      level: 'Metadata',
      users: [],
      userGroups: [],
      verbs: [],
      resources: [],
      namespaces: [],
      nonResourceURLs: [],
      omitStages: ['RequestReceived'],
    },
  ],
  omitStages: ['RequestReceived'],
};

export function levelAtLeast(level: AuditLevel, min: AuditLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(min);
}

// ---- evaluation (checker.go) -------------------------------------------------------------

function pathMatches(path: string, spec: string): boolean {
  if (spec === '*' || spec === path) return true;
  return spec.endsWith('*') && path.startsWith(spec.replace(/\*+$/, ''));
}

function ruleMatchesResource(r: AuditPolicyRule, a: AuditAttributes): boolean {
  if (!a.resourceRequest) return false;
  if (r.namespaces.length && !r.namespaces.includes(a.namespace)) return false;
  if (!r.resources.length) return true;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  for (const gr of r.resources) {
    if (gr.group !== a.apiGroup) continue;
    if (!gr.resources.length) return true;
    for (const res of gr.resources) {
      if (gr.resourceNames.length && !gr.resourceNames.includes(a.name)) continue;
      if (res === combined || res === '*') return true;
      if (a.subresource && res.startsWith('*/') && a.subresource === res.slice(2)) return true;
      if (res.endsWith('/*') && a.resource === res.slice(0, -2)) return true;
    }
  }
  return false;
}

export function ruleMatches(r: AuditPolicyRule, a: AuditAttributes): boolean {
  if (r.users.length && (!a.user || !r.users.includes(a.user.name))) return false;
  if (r.userGroups.length && (!a.user || !a.user.groups.some((g) => r.userGroups.includes(g)))) return false;
  if (r.verbs.length && !r.verbs.includes(a.verb)) return false;
  if (r.namespaces.length || r.resources.length) return ruleMatchesResource(r, a);
  if (r.nonResourceURLs.length) return !a.resourceRequest && r.nonResourceURLs.some((s) => pathMatches(a.path, s));
  return true;
}

/** EvaluatePolicyRule: the first matching rule wins; none matching: None */
export function evaluatePolicy(p: AuditPolicy, a: AuditAttributes): RequestAuditConfig {
  for (const r of p.rules) if (ruleMatches(r, a)) return { level: r.level, omitStages: r.omitStages };
  return { level: 'None', omitStages: p.omitStages };
}

// ---- loading and validation (policy/reader.go, apis/audit/validation) -------------------

export class AuditPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditPolicyError';
    // main.ts prints the stack of what stops the start: the message alone is the clearest
    this.stack = message;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function strings(v: unknown, path: string, errs: string[]): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    errs.push(`${path}: Invalid value: must be a list of strings`);
    return [];
  }
  return v as string[];
}

function unknownFields(o: Record<string, unknown>, allowed: string[], path: string, errs: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) errs.push(`${path}: unknown field "${k}"`);
}

function stagesOf(v: unknown, path: string, errs: string[]): AuditStage[] {
  const out: AuditStage[] = [];
  strings(v, path, errs).forEach((s, i) => {
    if ((STAGES as readonly string[]).includes(s)) out.push(s as AuditStage);
    else
      errs.push(
        `${path}[${i}]: Unsupported value: ${JSON.stringify(s)}: supported values: ${STAGES.map((x) => `"${x}"`).join(', ')}`,
      );
  });
  return out;
}

function parseRule(v: unknown, i: number, policyOmit: AuditStage[], errs: string[]): AuditPolicyRule | undefined {
  const path = `rules[${i}]`;
  if (!isObj(v)) {
    errs.push(`${path}: Invalid value: must be an object`);
    return undefined;
  }
  unknownFields(
    v,
    [
      'level',
      'users',
      'userGroups',
      'verbs',
      'resources',
      'namespaces',
      'nonResourceURLs',
      'omitStages',
      'omitManagedFields',
    ],
    path,
    errs,
  );
  let level: AuditLevel = 'None';
  if (v.level === undefined || v.level === '') errs.push(`${path}.level: Required value`);
  else if (typeof v.level !== 'string' || !(LEVELS as readonly string[]).includes(v.level)) {
    errs.push(
      `${path}.level: Unsupported value: ${JSON.stringify(v.level)}: supported values: ${LEVELS.map((x) => `"${x}"`).join(', ')}`,
    );
  } else level = v.level as AuditLevel;
  const resources: GroupResources[] = [];
  if (v.resources !== undefined && v.resources !== null) {
    if (!Array.isArray(v.resources)) errs.push(`${path}.resources: Invalid value: must be a list`);
    else
      v.resources.forEach((g: unknown, j) => {
        const gp = `${path}.resources[${j}]`;
        if (!isObj(g)) {
          errs.push(`${gp}: Invalid value: must be an object`);
          return;
        }
        unknownFields(g, ['group', 'resources', 'resourceNames'], gp, errs);
        const group = g.group === undefined || g.group === null ? '' : g.group;
        if (typeof group !== 'string') {
          errs.push(`${gp}.group: Invalid value: must be a string`);
          return;
        }
        if (group.includes('/'))
          errs.push(`${gp}.group: Invalid value: ${JSON.stringify(group)}: group name must not contain "/"`);
        const res = strings(g.resources, `${gp}.resources`, errs);
        const names = strings(g.resourceNames, `${gp}.resourceNames`, errs);
        if (names.length && !res.length)
          errs.push(
            `${gp}.resourceNames: Invalid value: ${JSON.stringify(names)}: using resourceNames requires at least one resource`,
          );
        resources.push({ group, resources: res, resourceNames: names });
      });
  }
  const namespaces = strings(v.namespaces, `${path}.namespaces`, errs);
  const nonResourceURLs = strings(v.nonResourceURLs, `${path}.nonResourceURLs`, errs);
  if (nonResourceURLs.length && (resources.length || namespaces.length)) {
    errs.push(
      `${path}.nonResourceURLs: Invalid value: ${JSON.stringify(nonResourceURLs)}: rules cannot apply to both regular resources and non-resource URLs`,
    );
  }
  nonResourceURLs.forEach((u, j) => {
    if (u === '*') return;
    if (!u.startsWith('/'))
      errs.push(
        `${path}.nonResourceURLs[${j}]: Invalid value: ${JSON.stringify(u)}: non-resource URL rules must begin with a '/' character`,
      );
    const star = u.indexOf('*');
    if (star >= 0 && star !== u.length - 1)
      errs.push(
        `${path}.nonResourceURLs[${j}]: Invalid value: ${JSON.stringify(u)}: non-resource URL wildcards '*' must be the final character of the rule`,
      );
  });
  const own = stagesOf(v.omitStages, `${path}.omitStages`, errs);
  return {
    level,
    users: strings(v.users, `${path}.users`, errs),
    userGroups: strings(v.userGroups, `${path}.userGroups`, errs),
    verbs: strings(v.verbs, `${path}.verbs`, errs),
    resources,
    namespaces,
    nonResourceURLs,
    // the policy's omitStages apply to every rule (NewPolicyRuleEvaluator: unionStages)
    omitStages: [...new Set([...policyOmit, ...own])],
  };
}

/** parse and validate a Policy document (YAML or JSON); throws AuditPolicyError listing every problem */
export function parsePolicy(text: string, source = 'policy'): AuditPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new AuditPolicyError(
      `audit policy ${source}: not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (!isObj(doc)) throw new AuditPolicyError(`audit policy ${source}: the document is not a Policy object`);
  if (doc.kind !== 'Policy' || doc.apiVersion !== 'audit.k8s.io/v1') {
    throw new AuditPolicyError(
      `audit policy ${source}: want kind "Policy" of apiVersion "audit.k8s.io/v1", got kind ${JSON.stringify(doc.kind ?? '')} of apiVersion ${JSON.stringify(doc.apiVersion ?? '')}`,
    );
  }
  const errs: string[] = [];
  unknownFields(doc, ['kind', 'apiVersion', 'metadata', 'rules', 'omitStages', 'omitManagedFields'], 'Policy', errs);
  const omitStages = stagesOf(doc.omitStages, 'omitStages', errs);
  const rawRules = doc.rules ?? [];
  if (!Array.isArray(rawRules)) errs.push('rules: Invalid value: must be a list');
  const rules: AuditPolicyRule[] = [];
  if (Array.isArray(rawRules))
    rawRules.forEach((r, i) => {
      const p = parseRule(r, i, omitStages, errs);
      if (p) rules.push(p);
    });
  if (errs.length) throw new AuditPolicyError(`audit policy ${source} is invalid: ${errs.join('; ')}`);
  if (!rules.length)
    throw new AuditPolicyError(`loaded illegal policy with 0 rules from file ${JSON.stringify(source)}`);
  return { rules, omitStages };
}

export function loadPolicyFile(file: string): AuditPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AuditPolicyError(`failed to read audit policy file ${JSON.stringify(file)}: ${(e as Error).message}`);
  }
  return parsePolicy(text, file);
}
