// Private registry pulls end to end: Debian's docker-registry with htpasswd auth
// (registry.ts), a real server and agent, real Docker, the real kubectl 1.32. A pod with
// imagePullSecrets (`kubectl create secret docker-registry`) pulls and runs, with kubelet's
// Pulled event (time and size); a pod whose ServiceAccount holds a (legacy dockercfg) secret
// gets it by admission and pulls too; without credentials, or with a wrong password, the pull fails
// with ErrImagePull naming the registry's answer, then ImagePullBackOff; two pods pulling the
// same image at once (through a slow proxy, so the pull lasts) share one Docker pull, proved
// by the registry's access log, and the agent logs progress lines while it lasts.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  httpsRequest,
  k,
  kubectlAvailable,
  kubectlBg,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';
import { registryAvailable, slowProxy, startRegistry, type TestRegistry } from './registry.js';

const enabled = dockerAvailable() && kubectlAvailable() && registryAvailable();

interface Waiting {
  reason?: string;
  message?: string;
}
interface KEvent {
  reason: string;
  message: string;
  type: string;
  involvedObject: { name: string };
}

describe.skipIf(!enabled)('image pulls from a private registry', () => {
  let s: ServerProc;
  let a: AgentProc;
  let reg: TestRegistry;
  let proxy: { host: string; close(): Promise<void> };
  const repo = `skiff/private-${process.pid}`;
  const sharedRepo = `skiff/shared-${process.pid}`;
  let image = '';
  let sharedImage = '';
  const rmi = (name: string) => spawnSync('docker', ['rmi', name], { encoding: 'utf8' });

  const getPod = async (name: string) => {
    const r = await httpsRequest(s, 'GET', `/api/v1/namespaces/default/pods/${name}`);
    expect(r.status).toBe(200);
    return r.json;
  };
  const waiting = async (name: string): Promise<Waiting> =>
    (await getPod(name)).status?.containerStatuses?.[0]?.state?.waiting ?? {};
  const waitRunning = (name: string) =>
    eventually(
      async () => {
        const p = await getPod(name);
        expect(
          p.status?.containerStatuses?.[0]?.state?.running,
          JSON.stringify(p.status?.containerStatuses),
        ).toBeTruthy();
      },
      90_000,
      250,
    );
  const events = (pod: string): KEvent[] =>
    (JSON.parse(k(s, ['get', 'events', '-o', 'json'])).items as KEvent[]).filter((e) => e.involvedObject.name === pod);
  const podYaml = (name: string, img: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 0
${extra}  containers:
  - name: app
    image: ${img}
    command: [sleep, "3600"]
`;
  const pulledRe = (img: string) =>
    new RegExp(
      `^Successfully pulled image "${img.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" in \\d+(\\.\\d+)?m?s \\(\\d+(\\.\\d+)?m?s including waiting\\)\\. Image size: (\\d+) bytes\\.$`,
    );

  beforeAll(async () => {
    reg = await startRegistry();
    reg.push(BUSYBOX, repo, '1');
    reg.push(BUSYBOX, sharedRepo, '1');
    image = `${reg.host}/${repo}:1`;
    proxy = await slowProxy(reg.host, 3000);
    sharedImage = `${proxy.host}/${sharedRepo}:1`;
    rmi(image);
    rmi(sharedImage);
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 200);
  }, 120_000);
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
    await proxy?.close();
    await reg?.stop();
    if (image) rmi(image);
    if (sharedImage) rmi(sharedImage);
  });

  it("pulls with the pod's imagePullSecrets and with its ServiceAccount's; Pulled carries time and size", async () => {
    expect(
      k(s, [
        'create',
        'secret',
        'docker-registry',
        'regcred',
        `--docker-server=${reg.host}`,
        `--docker-username=${reg.user}`,
        `--docker-password=${reg.password}`,
      ]),
    ).toContain('secret/regcred created');
    k(s, ['apply', '-f', '-'], podYaml('with-secret', image, '  imagePullSecrets: [{name: regcred}]\n'));
    await waitRunning('with-secret');
    const ev = events('with-secret');
    expect(ev.map((e) => e.message)).toContain(`Pulling image "${image}"`);
    const pulled = ev.find((e) => e.reason === 'Pulled');
    expect(pulled?.message).toMatch(pulledRe(image));
    expect(Number(/Image size: (\d+) bytes\.$/.exec(pulled!.message)?.[1])).toBeGreaterThan(1_000_000);
    expect(reg.manifestPulls(repo, '1')).toBe(1);

    // the account's imagePullSecrets are copied into a pod that names none (ServiceAccount admission);
    // this one is a legacy kubernetes.io/dockercfg secret (a .dockercfg map, `auth` as base64 user:password)
    const dockercfg = JSON.stringify({
      [`http://${reg.host}/v1/`]: {
        auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64'),
        email: 'e2e@skiff.test',
      },
    });
    k(s, [
      'create',
      'secret',
      'generic',
      'legacycred',
      '--type=kubernetes.io/dockercfg',
      `--from-literal=.dockercfg=${dockercfg}`,
    ]);
    k(s, ['create', 'serviceaccount', 'puller']);
    k(s, ['patch', 'serviceaccount', 'puller', '-p', '{"imagePullSecrets":[{"name":"legacycred"}]}']);
    k(s, ['delete', 'pod', 'with-secret', '--wait=true']);
    expect(rmi(image).status).toBe(0);
    k(s, ['apply', '-f', '-'], podYaml('with-sa', image, '  serviceAccountName: puller\n'));
    expect(k(s, ['get', 'pod', 'with-sa', '-o', 'jsonpath={.spec.imagePullSecrets[*].name}'])).toBe('legacycred');
    await waitRunning('with-sa');
    expect(events('with-sa').find((e) => e.reason === 'Pulled')?.message).toMatch(pulledRe(image));
    expect(reg.manifestPulls(repo, '1')).toBe(2);
    k(s, ['delete', 'pod', 'with-sa', '--wait=true']);
  }, 180_000);

  it("without credentials or with a wrong password: ErrImagePull with the registry's answer, then ImagePullBackOff", async () => {
    rmi(image);
    k(s, [
      'create',
      'secret',
      'docker-registry',
      'wrongcred',
      `--docker-server=http://${reg.host}`,
      `--docker-username=${reg.user}`,
      '--docker-password=nope',
    ]);
    // kubectl's own watch sees the states go by (the first ErrImagePull may last only until the next sync)
    const watch = kubectlBg(s, ['get', 'pods', '-w']);
    try {
      k(s, ['apply', '-f', '-'], podYaml('anonymous', image));
      k(s, ['apply', '-f', '-'], podYaml('wrong-password', image, '  imagePullSecrets: [{name: wrongcred}]\n'));
      await eventually(
        () => {
          for (const p of ['anonymous', 'wrong-password']) {
            expect(watch.out()).toMatch(new RegExp(`\\n${p}\\s+0/1\\s+ErrImagePull\\s+0\\s`));
            expect(watch.out()).toMatch(new RegExp(`\\n${p}\\s+0/1\\s+ImagePullBackOff\\s+0\\s`));
          }
        },
        90_000,
        200,
      );
    } finally {
      watch.proc.kill();
    }
    // the registry's answer: Docker's words for its 401 to an anonymous request, and its own to a wrong password
    const failed = (pod: string) =>
      events(pod).find((e) => e.reason === 'Failed' && e.message.startsWith('Failed to pull image'))?.message ?? '';
    const anonMsg = await eventually(
      () => {
        const m = failed('anonymous').slice(`Failed to pull image "${image}": `.length);
        expect(m).toMatch(
          /^Head "http:\/\/127\.0\.0\.1:\d+\/v2\/skiff\/private-\d+\/manifests\/1": no basic auth credentials$/,
        );
        expect(failed('wrong-password')).toBe(`Failed to pull image "${image}": unauthorized: authentication required`);
        return m;
      },
      30_000,
      500,
    );
    const backoff = await eventually(
      async () => {
        const w = await waiting('anonymous');
        expect(w.reason).toBe('ImagePullBackOff');
        return w;
      },
      60_000,
      200,
    );
    expect(backoff.message).toBe(`Back-off pulling image "${image}": ErrImagePull: ${anonMsg}`);
    await eventually(
      () => {
        const ev = events('anonymous');
        expect(ev).toContainEqual(
          expect.objectContaining({
            type: 'Warning',
            reason: 'Failed',
            message: `Failed to pull image "${image}": ${anonMsg}`,
          }),
        );
        expect(ev).toContainEqual(
          expect.objectContaining({ type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull' }),
        );
        expect(ev).toContainEqual(
          expect.objectContaining({ type: 'Normal', reason: 'BackOff', message: `Back-off pulling image "${image}"` }),
        );
        expect(ev).toContainEqual(
          expect.objectContaining({ type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' }),
        );
      },
      30_000,
      500,
    );
    expect(k(s, ['get', 'pod', 'anonymous'])).toMatch(/anonymous\s+0\/1\s+(ImagePullBackOff|ErrImagePull)\s+0/);
    k(s, ['delete', 'pod', 'anonymous', 'wrong-password', '--wait=true']);
  }, 180_000);

  it('two pods pulling the same image at once share one Docker pull; a long pull logs progress', async () => {
    k(s, [
      'create',
      'secret',
      'docker-registry',
      'proxycred',
      `--docker-server=${proxy.host}`,
      `--docker-username=${reg.user}`,
      `--docker-password=${reg.password}`,
    ]);
    const before = reg.manifestPulls(sharedRepo, '1');
    k(
      s,
      ['apply', '-f', '-'],
      podYaml('shared-a', sharedImage, '  imagePullSecrets: [{name: proxycred}]\n') +
        '---\n' +
        podYaml('shared-b', sharedImage, '  imagePullSecrets: [{name: proxycred}]\n'),
    );
    await waitRunning('shared-a');
    await waitRunning('shared-b');
    // one pull reached the registry, and both pods waited for it (each has a "Successfully pulled")
    expect(reg.manifestPulls(sharedRepo, '1') - before).toBe(1);
    await eventually(
      () => {
        for (const p of ['shared-a', 'shared-b'])
          expect(events(p).find((e) => e.reason === 'Pulled')?.message).toMatch(pulledRe(sharedImage));
      },
      30_000,
      500,
    );
    expect(a.output()).toContain('image pull already in progress: sharing it');
    // the proxy holds each of the pull's connections 3 s: past 5 s the agent logs where the pull is
    expect(a.output()).toMatch(/"msg":"pulling image"/);
  }, 180_000);
});
