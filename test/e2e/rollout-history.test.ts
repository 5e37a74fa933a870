// kubectl rollout history / undo for a DaemonSet and a StatefulSet end to end: a real
// skiff-server and skiff-agent, real Docker, the real kubectl 1.32. Each template change
// (`kubectl set env`) leaves a ControllerRevision; `rollout history` lists them and shows
// one with --revision; `rollout undo` (to the previous revision, or --to-revision) patches
// the old template back and the containers really run it again.
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

const enabled = dockerAvailable() && kubectlAvailable();

/** a container that exits at once on TERM */
const QUICK = ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"];

describe.skipIf(!enabled)('kubectl rollout history and undo on real Docker', () => {
  let s: ServerProc;
  let a: AgentProc;
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));
  const apply = (obj: unknown) => k(s, ['apply', '-f', '-'], JSON.stringify(obj));
  const running = (p: any) =>
    p.status?.phase === 'Running' &&
    !p.metadata.deletionTimestamp &&
    (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
  const envInContainer = (pod: string) => k(s, ['exec', pod, '--', 'sh', '-c', 'echo "$V"']).trim();

  /** the live pods of a selector, once all `count` run the template whose V is `v` */
  async function podsAt(selector: string, count: number, v: string): Promise<any[]> {
    return eventually(
      () => {
        const ps = json(['get', 'pods', '-l', selector]).items.filter((p: any) => !p.metadata.deletionTimestamp);
        expect(ps.length).toBe(count);
        for (const p of ps) {
          expect(p.spec.containers[0].env).toEqual([{ name: 'V', value: v }]);
          expect(running(p)).toBe(true);
        }
        return ps;
      },
      60_000,
      250,
    );
  }

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('DaemonSet: history lists the revisions, --revision shows one, undo rolls the pod back', async () => {
    apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'logger' },
      spec: {
        selector: { matchLabels: { app: 'logger' } },
        template: {
          metadata: { labels: { app: 'logger' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: BUSYBOX, command: QUICK, env: [{ name: 'V', value: 'one' }] }],
          },
        },
      },
    });
    const [p1] = await podsAt('app=logger', 1, 'one');
    k(s, ['set', 'env', 'ds/logger', 'V=two']);
    const [p2] = await podsAt('app=logger', 1, 'two');
    expect(p2.metadata.name).not.toBe(p1.metadata.name);
    expect(envInContainer(p2.metadata.name)).toBe('two');

    expect(k(s, ['rollout', 'history', 'ds/logger'])).toBe(
      'daemonset.apps/logger \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n',
    );
    const shown = k(s, ['rollout', 'history', 'ds/logger', '--revision=1']);
    expect(shown).toMatch(/^daemonset\.apps\/logger with revision #1\nPod Template:\n/);
    expect(shown).toMatch(/Environment:\s*\n\s+V:\s+one\n/);

    const table = k(s, ['get', 'controllerrevisions', '-l', 'app=logger']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+CONTROLLER\s+REVISION\s+AGE$/);
    expect(table).toMatch(
      new RegExp(`logger-${p1.metadata.labels['controller-revision-hash']}\\s+daemonset\\.apps/logger\\s+1\\s+`),
    );
    expect(table).toMatch(
      new RegExp(`logger-${p2.metadata.labels['controller-revision-hash']}\\s+daemonset\\.apps/logger\\s+2\\s+`),
    );

    expect(k(s, ['rollout', 'undo', 'ds/logger']).trim()).toBe('daemonset.apps/logger rolled back');
    const [p3] = await podsAt('app=logger', 1, 'one');
    expect(p3.metadata.labels['controller-revision-hash']).toBe(p1.metadata.labels['controller-revision-hash']);
    expect(envInContainer(p3.metadata.name)).toBe('one');
    // revision 1 became revision 3
    expect(k(s, ['rollout', 'history', 'ds/logger'])).toBe(
      'daemonset.apps/logger \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n',
    );
    const none = kubectl(s, ['rollout', 'undo', 'ds/logger', '--to-revision=7']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('unable to find specified revision 7 in history');
  });

  it('StatefulSet: undo --to-revision=1 brings both pods back to the first template', async () => {
    apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        serviceName: 'web',
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: BUSYBOX, command: QUICK, env: [{ name: 'V', value: 'one' }] }],
          },
        },
      },
    });
    await podsAt('app=web', 2, 'one');
    const rev1 = json(['get', 'sts', 'web']).status.updateRevision;
    k(s, ['set', 'env', 'sts/web', 'V=two']);
    await podsAt('app=web', 2, 'two');
    await eventually(() => expect(json(['get', 'sts', 'web']).status.currentRevision).not.toBe(rev1), 20_000, 250);
    k(s, ['set', 'env', 'sts/web', 'V=three']);
    await podsAt('app=web', 2, 'three');
    expect(k(s, ['rollout', 'history', 'sts/web'])).toBe(
      'statefulset.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n3         <none>\n\n',
    );
    expect(k(s, ['rollout', 'history', 'sts/web', '--revision=2'])).toMatch(/V:\s+two\n/);

    expect(k(s, ['rollout', 'undo', 'sts/web', '--to-revision=1']).trim()).toBe('statefulset.apps/web rolled back');
    const pods = await podsAt('app=web', 2, 'one');
    for (const p of pods) {
      expect(p.metadata.labels['controller-revision-hash']).toBe(rev1);
      expect(envInContainer(p.metadata.name)).toBe('one');
    }
    await eventually(
      () =>
        expect(json(['get', 'sts', 'web']).status).toMatchObject({
          currentRevision: rev1,
          updateRevision: rev1,
          updatedReplicas: 2,
        }),
      20_000,
      250,
    );
    expect(k(s, ['rollout', 'history', 'sts/web'])).toBe(
      'statefulset.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n4         <none>\n\n',
    );
    // kubectl compares its own marshalling of the template with the revision's data, byte for byte
    expect(k(s, ['rollout', 'undo', 'sts/web', '--to-revision=4']).trim()).toBe(
      'statefulset.apps/web skipped rollback (current template already matches revision 4)',
    );
  });

  it('deleting the workloads lets the garbage collector delete their revisions', async () => {
    k(s, ['delete', 'ds/logger', 'sts/web', '--wait=false']);
    await eventually(() => expect(json(['get', 'controllerrevisions']).items).toEqual([]), 30_000, 250);
  });
});
