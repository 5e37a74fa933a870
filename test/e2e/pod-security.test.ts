// Pod Security admission end to end: a real server (--pod-security-default
// enforce=baseline,warn=restricted:latest, --pod-security-exempt-namespaces exempt) and agent,
// real Docker, the real kubectl printing Kubernetes' messages: a privileged pod in a
// restricted namespace is refused, a compliant one admitted and running; warn mode admits
// with kubectl's "Warning:" line; a Deployment violating enforce is admitted with a warning
// and its ReplicaSet's pods are refused (FailedCreate events); the cluster default applies to
// unlabelled namespaces; an exempt namespace is not checked; a stricter enforce label lists
// the existing pods it would refuse; invalid labels and an invalid default are refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  SERVER_BIN,
  dockerAvailable,
  eventually,
  k,
  kubectl,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

const privilegedPod = (name: string, ns: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    securityContext: {privileged: true}
`;

const RESTRICTED_C =
  'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
  'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
  'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';
const PRIVILEGED_C = 'privileged (container "c" must not set securityContext.privileged=true)';

describe.skipIf(!enabled)('Pod Security admission', () => {
  let s: ServerProc;
  let a: AgentProc;

  beforeAll(async () => {
    s = await startServer([
      '--pod-security-default',
      'enforce=baseline,warn=restricted:latest',
      '--pod-security-exempt-namespaces',
      'exempt',
    ]);
    a = startAgent(s);
    k(s, ['create', 'namespace', 'r']);
    k(s, ['label', 'namespace', 'r', 'pod-security.kubernetes.io/enforce=restricted']);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 200);
  }, 60_000);
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it("a privileged pod in a restricted namespace is refused with Kubernetes' message", () => {
    const r = kubectl(s, ['create', '-f', '-'], { input: privilegedPod('priv', 'r') });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(
      `Error from server (Forbidden): error when creating "STDIN": pods "priv" is forbidden: violates PodSecurity "restricted:latest": ${PRIVILEGED_C}, ${RESTRICTED_C}`,
    );
  });

  it('a compliant pod is admitted without warnings and runs', async () => {
    const r = kubectl(s, ['create', '-f', '-'], {
      input: `apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: r}
spec:
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  terminationGracePeriodSeconds: 1
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    await eventually(
      () => expect(k(s, ['get', 'pod', 'ok', '-n', 'r', '-o', 'jsonpath={.status.phase}'])).toBe('Running'),
      60_000,
      250,
    );
  }, 90_000);

  it('warn mode admits and kubectl prints the warning', () => {
    k(s, ['create', 'namespace', 'w']);
    k(s, [
      'label',
      'namespace',
      'w',
      'pod-security.kubernetes.io/warn=restricted',
      'pod-security.kubernetes.io/enforce=privileged',
    ]);
    const r = kubectl(s, ['run', 'c', '-n', 'w', '--image', BUSYBOX, '--privileged', '--', 'sleep', '3600']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('pod/c created\n');
    expect(r.stderr).toBe(`Warning: would violate PodSecurity "restricted:latest": ${PRIVILEGED_C}, ${RESTRICTED_C}\n`);
  });

  it('a Deployment violating enforce is admitted with a warning; its pods are refused with FailedCreate events', async () => {
    const r = kubectl(s, ['create', 'deployment', 'web', '-n', 'r', '--image', BUSYBOX, '--', 'sleep', '3600']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('deployment.apps/web created\n');
    const detail = RESTRICTED_C.replaceAll('"c"', '"busybox"');
    expect(r.stderr).toBe(`Warning: would violate PodSecurity "restricted:latest": ${detail}\n`);
    const ev = await eventually(
      () => {
        const items = JSON.parse(k(s, ['get', 'events', '-n', 'r', '-o', 'json'])).items as {
          reason: string;
          type: string;
          message: string;
          involvedObject: { kind: string };
        }[];
        const e = items.find((x) => x.reason === 'FailedCreate');
        expect(e).toBeDefined();
        return e!;
      },
      30_000,
      250,
    );
    expect(ev.type).toBe('Warning');
    expect(ev.involvedObject.kind).toBe('ReplicaSet');
    expect(ev.message).toMatch(
      /^Error creating: pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: violates PodSecurity "restricted:latest": /,
    );
    expect(ev.message.endsWith(detail)).toBe(true);
    expect(k(s, ['get', 'pods', '-n', 'r', '-l', 'app=web', '-o', 'name'])).toBe('');
  }, 60_000);

  it('--pod-security-default applies to unlabelled namespaces', () => {
    k(s, ['create', 'namespace', 'plain']);
    const refused = kubectl(s, ['create', '-f', '-'], { input: privilegedPod('priv', 'plain') });
    expect(refused.stderr.trim()).toBe(
      `Error from server (Forbidden): error when creating "STDIN": pods "priv" is forbidden: violates PodSecurity "baseline:latest": ${PRIVILEGED_C}`,
    );
    const r = kubectl(s, ['run', 'c', '-n', 'plain', '--image', BUSYBOX, '--', 'sleep', '3600']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`Warning: would violate PodSecurity "restricted:latest": ${RESTRICTED_C}\n`);
  });

  it('an exempt namespace is not checked', () => {
    k(s, ['create', 'namespace', 'exempt']);
    const r = kubectl(s, ['create', '-f', '-'], { input: privilegedPod('priv', 'exempt') });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('a stricter enforce label lists the existing pods it would refuse; invalid labels are refused', () => {
    const r = kubectl(s, ['label', 'namespace', 'plain', 'pod-security.kubernetes.io/enforce=restricted']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'Warning: existing pods in namespace "plain" violate the new PodSecurity enforce level "restricted:latest"\n' +
        'Warning: c: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile\n',
    );
    const bad = kubectl(s, ['label', 'namespace', 'plain', 'pod-security.kubernetes.io/enforce=strict', '--overwrite']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe(
      'The Namespace "plain" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    );
  });

  it('an invalid --pod-security-default stops the server with a clear message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-psa-'));
    try {
      const r = spawnSync(
        process.execPath,
        [SERVER_BIN, '--data-dir', dir, '--listen', '127.0.0.1:0', '--pod-security-default', 'enforce=strict'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(
        '--pod-security-default: invalid entry "enforce=strict": level must be one of privileged, baseline, restricted',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
