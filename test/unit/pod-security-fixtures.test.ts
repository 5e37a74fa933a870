// Kubernetes' own Pod Security fixtures (pod-security-admission test/testdata, v1.32): every
// pass pod is allowed and every fail pod refused at its level and version, after the pod
// defaults (admission sees defaulted pods: a volume without a source is an emptyDir).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregate, evaluatePod } from '../../controlplane/admission/pod-security/evaluator.js';
import { parseVersion, type Level } from '../../controlplane/admission/pod-security/policy.js';
import { findResource } from '../../controlplane/resources/index.js';

interface Fixtures {
  pods: { metadata?: { annotations?: Record<string, string> }; spec: Record<string, unknown> }[];
  cases: [Level, string, 0 | 1, string, number][];
}
const data = JSON.parse(
  readFileSync(new URL('./data/pod-security-fixtures.json', import.meta.url), 'utf8'),
) as Fixtures;

const podDef = findResource('', 'v1', 'pods')!;

describe('Pod Security fixtures from Kubernetes', () => {
  it('has fixtures for both levels up to v1.32', () => {
    expect(data.cases.length).toBeGreaterThan(1000);
    expect(data.cases.some(([l, v]) => l === 'restricted' && v === 'v1.32')).toBe(true);
  });
  it('allows every pass pod and refuses every fail pod', () => {
    const wrong: string[] = [];
    for (const [level, version, pass, file, i] of data.cases) {
      const pod = structuredClone(data.pods[i]!);
      podDef.defaults!({ metadata: {}, spec: pod.spec });
      const r = aggregate(evaluatePod({ level, version: parseVersion(version).version }, pod.metadata ?? {}, pod.spec));
      if (r.allowed !== (pass === 1)) wrong.push(`${level}/${version}/${pass ? 'pass' : 'fail'}/${file}`);
    }
    expect(wrong).toEqual([]);
  });
});
