// Node identity end to end (issue 10, item 6): real skiff-server, real skiff-agent
// processes, real kubectl. A second agent given the join token and an existing node's
// name is refused while the node's agent is connected and after it left; the node's own
// agent, restarted, keeps its Node; after `kubectl delete node` a reinstalled agent
// (a fresh data dir, so a new credential) joins under the old name.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  agentProcess,
  dockerAvailable,
  eventually,
  k,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

describe.skipIf(!enabled)('node identity', () => {
  let s: ServerProc;
  let a: AgentProc;
  const extra: AgentProc[] = [];
  const node = () => JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json']));
  const ready = (n: { status?: { conditions?: { type: string; status: string }[] } }) =>
    n.status?.conditions?.find((c) => c.type === 'Ready')?.status;

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s, { node: `ident-${Math.random().toString(36).slice(2, 7)}` });
    await eventually(() => expect(ready(node())).toBe('True'), 30_000, 200);
  });
  afterAll(async () => {
    for (const x of [a, ...extra]) await x?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('keeps the node credential in the agent data dir at mode 0600, and only its hash on the server', () => {
    const file = join(a.dataDir, 'node-password');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = JSON.parse(
      k(s, ['-n', 'kube-system', 'get', 'secret', `${a.node}.node-password.skiff`, '-o', 'json']),
    );
    expect(secret.type).toBe('skiff.io/node-password');
    expect(secret.metadata.ownerReferences[0]).toMatchObject({ kind: 'Node', name: a.node, uid: node().metadata.uid });
    expect(JSON.stringify(secret)).not.toContain(readFileSync(file, 'utf8').trim());
  });

  it('refuses a second agent with the same name and the join token, while the real one is connected and after it left', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
`,
    );
    await eventually(
      () => expect(JSON.parse(k(s, ['get', 'pod', 'victim', '-o', 'json'])).status.phase).toBe('Running'),
      60_000,
      250,
    );
    const uid = node().metadata.uid;
    const impostor = startAgent(s, { node: a.node });
    extra.push(impostor);
    await eventually(() => expect(impostor.output()).toContain('node credential refused'), 20_000, 200);
    expect(impostor.output()).toContain('delete the Node first');
    // a clone of the node's data dir (its credential) is refused too: the name has a live connection
    const cloneDir = mkdtempSync(join(tmpdir(), 'skiff-agent-clone-'));
    copyFileSync(join(a.dataDir, 'node-password'), join(cloneDir, 'node-password'));
    const clone = agentProcess(
      a.node,
      cloneDir,
      [],
      [
        '--server',
        s.url,
        '--token',
        readFileSync(join(s.dataDir, 'token'), 'utf8').trim(),
        '--node-name',
        a.node,
        '--data-dir',
        cloneDir,
      ],
    );
    extra.push(clone);
    await eventually(
      () => expect(clone.output()).toContain('another agent is connected with the same node name'),
      20_000,
      200,
    );
    expect(clone.output()).not.toContain('registered with server');
    await clone.kill('SIGKILL');
    // the real agent's session and pod are untouched
    expect(impostor.output()).not.toContain('registered with server');
    expect(a.output()).not.toContain('disconnected from server');
    expect(node().metadata.uid).toBe(uid);
    expect(ready(node())).toBe('True');
    expect(JSON.parse(k(s, ['get', 'pod', 'victim', '-o', 'json'])).status.phase).toBe('Running');

    // the real agent goes away: the impostor still has no credential
    await a.kill('SIGTERM');
    const refusals = () => impostor.output().split('node credential refused').length - 1;
    const seen = refusals();
    await eventually(() => expect(refusals()).toBeGreaterThan(seen + 1), 20_000, 200);
    expect(impostor.output()).not.toContain('registered with server');
    expect(node().metadata.uid).toBe(uid);
    await impostor.kill('SIGKILL');
  }, 120_000);

  it('the real agent, restarted, keeps its Node', async () => {
    const uid = node().metadata.uid;
    const before = a.output().split('registered with server').length;
    await a.restart();
    await eventually(
      () => expect(a.output().split('registered with server').length).toBeGreaterThan(before),
      30_000,
      200,
    );
    await eventually(() => expect(ready(node())).toBe('True'), 30_000, 200);
    expect(node().metadata.uid).toBe(uid);
    await eventually(
      () => expect(JSON.parse(k(s, ['get', 'pod', 'victim', '-o', 'json'])).status.phase).toBe('Running'),
      30_000,
      250,
    );
  }, 60_000);

  it('after kubectl delete node, a reinstalled agent (fresh data dir) joins under the old name', async () => {
    k(s, ['delete', 'pod', 'victim', '--grace-period=1']);
    const oldUid = node().metadata.uid;
    await a.kill('SIGTERM');
    removeNodeContainers(a.node);
    k(s, ['delete', 'node', a.node]);
    const reinstalled = startAgent(s, { node: a.node });
    extra.push(reinstalled);
    await eventually(() => expect(reinstalled.output()).toContain('registered with server'), 30_000, 200);
    await eventually(() => expect(ready(node())).toBe('True'), 30_000, 200);
    expect(node().metadata.uid).not.toBe(oldUid);
    // its credential is the stored one now: the old machine's would be refused
    const secret = JSON.parse(
      k(s, ['-n', 'kube-system', 'get', 'secret', `${a.node}.node-password.skiff`, '-o', 'json']),
    );
    expect(secret.metadata.ownerReferences[0].uid).toBe(node().metadata.uid);
    await reinstalled.kill('SIGTERM');
  }, 90_000);
});
