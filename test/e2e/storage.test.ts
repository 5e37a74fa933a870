// Storage end to end, the whole chain: the seeded default class `local-path`, the
// scheduler's VolumeBinding, the PV controller provisioning through the node's agent, the
// agent mounting the claim, protection finalizers and reclaim — with real Docker, real
// agents and the real kubectl. One node: a claim without a class binds to a new PV pinned
// to the node of its first pod, the data outlives the pod, a claim in use stays
// Terminating, Delete removes PV and directory while Retain keeps them, a StatefulSet's
// pods find their own data after deletion and an agent restart, bad claims are refused or
// wait with an event. Two simulated hosts: WaitForFirstConsumer provisions on the host the
// scheduler chose, and a pod whose claim lives on one host never lands on the other.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
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
import {
  hostsAvailable,
  hostsDown,
  hostsUp,
  startHostAgent,
  startHostServer,
  waitFor,
  type Host,
  type HostServer,
  HOSTS_HOOK_TIMEOUT_MS,
} from './hosts.js';

const claim = (name: string, extra = '') => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
${extra}`;

const podWith = (name: string, claimName: string, script: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
${extra}  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sh", "-c", ${JSON.stringify(script)}]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: ${claimName}}
`;

const KEEP = `${'trap "exit 0" TERM; while :; do sleep 1; done'}`;

function json(s: ServerProc, args: string[]): any {
  return JSON.parse(k(s, [...args, '-o', 'json']));
}

function events(s: ServerProc, name: string): { reason: string; message: string }[] {
  return json(s, ['get', 'events', '--field-selector', `involvedObject.name=${name}`]).items;
}

describe.skipIf(!(dockerAvailable() && kubectlAvailable()))('storage, one node', () => {
  let s: ServerProc;
  let a: AgentProc;
  const running = (name: string) =>
    eventually(() => expect(json(s, ['get', 'pod', name]).status.phase).toBe('Running'), 60_000, 250);
  const gone = (args: string[]) => eventually(() => expect(kubectl(s, ['get', ...args]).code).not.toBe(0), 60_000, 250);

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    kubectl(s, ['delete', 'pods,statefulsets,pvc', '--all', '--wait=false']);
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it("the default class: a claim binds to a new volume on its first pod's node, the data outlives the pod, a claim in use stays Terminating, Delete removes PV and directory", async () => {
    const sc = json(s, ['get', 'storageclass', 'local-path']);
    expect(sc).toMatchObject({
      provisioner: 'skiff.io/local-path',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    expect(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class']).toBe('true');
    expect(k(s, ['get', 'sc'])).toMatch(
      /local-path \(default\)\s+skiff\.io\/local-path\s+Delete\s+WaitForFirstConsumer/,
    );

    k(s, ['apply', '-f', '-'], claim('data'));
    expect(json(s, ['get', 'pvc', 'data']).spec.storageClassName).toBe('local-path');
    // nothing is provisioned before a pod needs it
    await eventually(
      () => expect(events(s, 'data').map((e) => e.reason)).toContain('WaitForFirstConsumer'),
      20_000,
      250,
    );
    expect(json(s, ['get', 'pvc', 'data']).status.phase).toBe('Pending');

    k(s, ['apply', '-f', '-'], podWith('w1', 'data', `echo hello-from-w1 > /data/hello; ${KEEP}`));
    await running('w1');
    const pvc = json(s, ['get', 'pvc', 'data']);
    expect(pvc.status.phase).toBe('Bound');
    const pv = json(s, ['get', 'pv', pvc.spec.volumeName]);
    expect(pv.spec.claimRef).toMatchObject({ name: 'data', namespace: 'default', uid: pvc.metadata.uid });
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0]).toEqual({
      key: 'kubernetes.io/hostname',
      operator: 'In',
      values: [a.node],
    });
    const dir: string = pv.spec.local?.path ?? pv.spec.hostPath?.path;
    expect(dir).toBe(join(a.dataDir, 'storage', pv.metadata.name));
    await eventually(() => expect(readFileSync(join(dir, 'hello'), 'utf8')).toBe('hello-from-w1\n'), 20_000, 250);
    expect(events(s, 'data').map((e) => e.reason)).toContain('ProvisioningSucceeded');
    expect(k(s, ['get', 'pvc', 'data'])).toMatch(/data\s+Bound\s+pvc-\S+\s+64Mi\s+RWO\s+local-path/);

    // a new pod on the same claim reads what the first one wrote
    k(s, ['delete', 'pod', 'w1', '--wait=true']);
    k(s, ['apply', '-f', '-'], podWith('r1', 'data', `cat /data/hello; ${KEEP}`));
    await running('r1');
    await eventually(() => expect(k(s, ['logs', 'r1'])).toContain('hello-from-w1'), 20_000, 250);

    // a claim in use is protected: Terminating until no pod uses it
    k(s, ['delete', 'pvc', 'data', '--wait=false']);
    await eventually(
      () => expect(json(s, ['get', 'pvc', 'data']).metadata.deletionTimestamp).toBeTruthy(),
      10_000,
      250,
    );
    expect(json(s, ['get', 'pvc', 'data']).metadata.finalizers).toContain('kubernetes.io/pvc-protection');
    expect(existsSync(dir)).toBe(true);
    k(s, ['delete', 'pod', 'r1']);
    await gone(['pvc', 'data']);
    await gone(['pv', pv.metadata.name]);
    await eventually(() => expect(existsSync(dir)).toBe(false), 30_000, 250);
  }, 240_000);

  it('Retain: the volume and its directory stay, the PV Released', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: skiff.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
`,
    );
    k(s, ['apply', '-f', '-'], claim('kept', '  storageClassName: keep\n'));
    k(s, ['apply', '-f', '-'], podWith('k1', 'kept', `echo kept > /data/f; ${KEEP}`));
    await running('k1');
    const pvName: string = json(s, ['get', 'pvc', 'kept']).spec.volumeName;
    const dir: string = json(s, ['get', 'pv', pvName]).spec.local.path;
    await eventually(() => expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('kept\n'), 20_000, 250);
    k(s, ['delete', 'pod', 'k1']);
    k(s, ['delete', 'pvc', 'kept']);
    await eventually(() => expect(json(s, ['get', 'pv', pvName]).status.phase).toBe('Released'), 30_000, 250);
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('kept\n');
    expect(k(s, ['get', 'pv', pvName])).toMatch(/Retain\s+Released\s+default\/kept\s+keep/);
  }, 120_000);

  it("a StatefulSet's pods find their own data again after deletion and after an agent restart", async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sh", "-c", ${JSON.stringify(`[ -f /data/id ] || hostname > /data/id; cat /data/id; ${KEEP}`)}]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 16Mi}}
`,
    );
    const ids = () => ['db-0', 'db-1'].map((p) => k(s, ['logs', p]).trim());
    await eventually(() => expect(ids()).toEqual(['db-0', 'db-1']), 90_000, 500);
    const claims = json(s, ['get', 'pvc', '-l', 'app=db'])
      .items.map((c: any) => `${c.metadata.name}:${c.status.phase}`)
      .sort();
    expect(claims).toEqual(['data-db-0:Bound', 'data-db-1:Bound']);
    const uids = json(s, ['get', 'pods', '-l', 'app=db'])
      .items.map((p: any) => p.metadata.uid)
      .sort();

    k(s, ['delete', 'pod', 'db-0', 'db-1']);
    await eventually(
      () => {
        const now = json(s, ['get', 'pods', '-l', 'app=db']).items;
        expect(now.filter((p: any) => p.status.phase === 'Running' && !uids.includes(p.metadata.uid))).toHaveLength(2);
        expect(ids()).toEqual(['db-0', 'db-1']);
      },
      90_000,
      500,
    );

    await a.restart();
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 250);
    k(s, ['delete', 'pod', 'db-0', 'db-1']);
    await eventually(
      () => {
        for (const p of json(s, ['get', 'pods', '-l', 'app=db']).items) expect(p.status.phase).toBe('Running');
        expect(ids()).toEqual(['db-0', 'db-1']);
      },
      90_000,
      500,
    );
  }, 300_000);

  it('bad claims: invalid sizes and access modes are 422 with field causes; an unknown class waits with an event', async () => {
    const bad = kubectl(s, ['apply', '-f', '-'], { input: claim('bad-size').replace('64Mi', 'lots') });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/quantities must match the regular expression|Invalid value/);
    const badMode = kubectl(s, ['apply', '-f', '-'], {
      input: claim('bad-mode').replace('ReadWriteOnce', 'ReadWriteSometimes'),
    });
    expect(badMode.code).not.toBe(0);
    expect(badMode.stderr).toMatch(/spec\.accessModes/);
    expect(kubectl(s, ['get', 'pvc', 'bad-size', 'bad-mode']).code).not.toBe(0);

    k(s, ['apply', '-f', '-'], claim('nowhere', '  storageClassName: nope\n'));
    await eventually(
      () => {
        const e = events(s, 'nowhere');
        expect(e.map((x) => x.reason)).toContain('ProvisioningFailed');
        expect(e.find((x) => x.reason === 'ProvisioningFailed')!.message).toContain(
          'storageclass.storage.k8s.io "nope" not found',
        );
      },
      30_000,
      250,
    );
    expect(json(s, ['get', 'pvc', 'nowhere']).status.phase).toBe('Pending');
    expect(json(s, ['get', 'pv']).items.filter((p: any) => p.spec.claimRef?.name === 'nowhere')).toEqual([]);
  }, 60_000);
});

describe.skipIf(!hostsAvailable('storage e2e test'))('storage, two simulated hosts', () => {
  let hosts: Host[] = [];
  let s: HostServer;
  const agents: AgentProc[] = [];
  beforeAll(async () => {
    hosts = await hostsUp(2);
    s = await startHostServer();
    for (const h of hosts) agents.push(startHostAgent(s, h));
    await waitFor(
      () => {
        for (const h of hosts) expect(k(s, ['get', 'node', h.name])).toMatch(/\sReady\s/);
      },
      30_000,
      'both hosts Ready',
    );
  }, HOSTS_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await hostsDown();
    await s?.cleanup();
  });

  it('WaitForFirstConsumer provisions on the host the scheduler chose; a pod whose claim lives there never lands on the other host', async () => {
    k(s, ['apply', '-f', '-'], claim('h2data'));
    k(
      s,
      ['apply', '-f', '-'],
      podWith('first', 'h2data', `echo on-h2 > /data/where; ${KEEP}`, '  nodeSelector: {kubernetes.io/hostname: h2}\n'),
    );
    await waitFor(
      () => expect(json(s, ['get', 'pod', 'first']).status.phase).toBe('Running'),
      60_000,
      'first Running on h2',
    );
    const pvc = json(s, ['get', 'pvc', 'h2data']);
    expect(pvc.metadata.annotations['volume.kubernetes.io/selected-node']).toBe('h2');
    const pv = json(s, ['get', 'pv', pvc.spec.volumeName]);
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).toEqual(['h2']);
    const h2Agent = agents[1]!;
    expect(pv.spec.local.path.startsWith(join(h2Agent.dataDir, 'storage'))).toBe(true);
    await waitFor(
      () => expect(readFileSync(join(pv.spec.local.path, 'where'), 'utf8')).toBe('on-h2\n'),
      20_000,
      'the file on h2',
    );
    k(s, ['delete', 'pod', 'first']);

    // h2 cordoned: the claim's pod may not go to h1 instead; it waits, Unschedulable
    k(s, ['cordon', 'h2']);
    k(s, ['apply', '-f', '-'], podWith('second', 'h2data', `cat /data/where; ${KEEP}`));
    await waitFor(
      () => {
        const p = json(s, ['get', 'pod', 'second']);
        expect(p.spec.nodeName).toBeUndefined();
        const cond = p.status.conditions?.find((c: any) => c.type === 'PodScheduled');
        expect(cond).toMatchObject({ status: 'False', reason: 'Unschedulable' });
        expect(cond.message).toMatch(/volume node affinity conflict/);
      },
      30_000,
      'second Unschedulable',
    );
    k(s, ['uncordon', 'h2']);
    await waitFor(
      () => {
        const p = json(s, ['get', 'pod', 'second']);
        expect(p.spec.nodeName).toBe('h2');
        expect(p.status.phase).toBe('Running');
      },
      60_000,
      'second Running on h2',
    );
    await waitFor(() => expect(k(s, ['logs', 'second'])).toContain('on-h2'), 20_000, 'second reads the data');
  }, 240_000);
});
