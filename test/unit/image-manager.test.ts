// kubelet's EnsureImageExists on a fake runtime: events and messages, pull secrets and the
// order credentials are tried in, ErrImagePull then ImagePullBackOff with back-off, shared
// in-flight pulls, progress lines, Go duration text. Time is injected.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { goDuration, ImageManager } from '../../agent/images/image-manager.js';
import { aggregateMessage, ImagePuller, pullKey, PullProgressTally } from '../../agent/images/puller.js';
import { BackOff } from '../../agent/pods/backoff.js';
import { ErrImagePull, RuntimeError } from '../../agent/runtime/errors.js';
import type { ImageStatus, PullAuth, PullProgress } from '../../agent/runtime/types.js';
import type { KubeObject } from '../../proto/meta.js';
import type { ObjectKind } from '../../agent/pods/object-cache.js';

const silent = pino({ level: 'silent' });
const b64 = (s: string) => Buffer.from(s).toString('base64');

function fakeRuntime(
  opts: { present?: Set<string>; accept?: (image: string, auth?: PullAuth) => string | undefined } = {},
) {
  const present = opts.present ?? new Set<string>();
  const pulls: Array<{ image: string; auth?: PullAuth }> = [];
  const held: Array<() => void> = [];
  let hold = false;
  const rt = {
    pulls,
    present,
    hold(on: boolean) {
      hold = on;
      if (!on) while (held.length) held.shift()!();
    },
    async imageStatus(image: string): Promise<ImageStatus | undefined> {
      if (image.includes(' '))
        throw new RuntimeError(
          'InvalidImageName',
          `Failed to apply default image tag "${image}": invalid reference format`,
        );
      return present.has(image) ? { imageRef: `docker-pullable://${image}@sha256:abc`, size: 1985598 } : undefined;
    },
    async pullImage(image: string, auth?: PullAuth, onProgress?: (p: PullProgress) => void): Promise<ImageStatus> {
      pulls.push({ image, ...(auth ? { auth } : {}) });
      onProgress?.({ status: 'Downloading', id: 'l1', current: 10, total: 100 });
      if (hold) await new Promise<void>((r) => held.push(r));
      const refused = opts.accept?.(image, auth);
      if (refused) throw new ErrImagePull(refused);
      present.add(image);
      return { imageRef: `docker-pullable://${image}@sha256:abc`, size: 1985598 };
    },
  };
  return rt;
}

function setup(rt: ReturnType<typeof fakeRuntime>, secrets: Record<string, KubeObject | null> = {}) {
  let now = 1_000_000;
  const events: Array<[string, string, string]> = [];
  const backoff = new BackOff();
  const reads: string[] = [];
  const objects = {
    async get(kind: ObjectKind, _ns: string, name: string) {
      reads.push(`${kind}/${name}`);
      const s = secrets[name];
      if (s === undefined) throw new Error(`secrets "${name}" is forbidden`);
      return s;
    },
  };
  const images = new ImageManager({
    runtime: rt,
    backoff,
    log: silent,
    objects,
    event: (_p, type, reason, message) => {
      events.push([type, reason, message]);
    },
    now: () => now,
  });
  return {
    images,
    events,
    backoff,
    reads,
    tick: (ms: number) => {
      now += ms;
    },
    clear: () => events.splice(0),
  };
}

const pod = (spec: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: { containers: [], ...spec },
  }) as unknown as KubeObject;
const regSecret = (name: string, server: string, user: string, pass: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'default' },
    type: 'kubernetes.io/dockerconfigjson',
    data: {
      '.dockerconfigjson': b64(
        JSON.stringify({ auths: { [server]: { username: user, password: pass, auth: b64(`${user}:${pass}`) } } }),
      ),
    },
  }) as unknown as KubeObject;

const IMG = '127.0.0.1:5000/skiff/private:1';
const unauthorized = (_i: string, a?: PullAuth) =>
  a?.password === 's3cret'
    ? undefined
    : a
      ? 'unauthorized: authentication required'
      : `Head "http://127.0.0.1:5000/v2/skiff/private/manifests/1": no basic auth credentials`;

describe('goDuration (time.Duration String, truncated to ms)', () => {
  it.each([
    [0, '0s'],
    [1, '1ms'],
    [313, '313ms'],
    [1000, '1s'],
    [1200, '1.2s'],
    [1661, '1.661s'],
    [1050, '1.05s'],
    [60_000, '1m0s'],
    [62_500, '1m2.5s'],
    [3_600_000, '1h0m0s'],
    [3_723_004, '1h2m3.004s'],
  ])('%d ms -> %s', (ms, s) => {
    expect(goDuration(ms)).toBe(s);
  });
});

describe('ImageManager.ensureImageExists', () => {
  it('present: nothing pulled, nothing read; Never and missing: ErrImageNeverPull; a bad name: InvalidImageName', async () => {
    const rt = fakeRuntime({ present: new Set(['busybox:1.36']) });
    const t = setup(rt);
    expect(
      await t.images.ensureImageExists(
        pod({ imagePullSecrets: [{ name: 'x' }] }),
        { name: 'c', image: 'busybox:1.36' },
        'f',
      ),
    ).toEqual({ ok: true, imageRef: 'docker-pullable://busybox:1.36@sha256:abc', pulled: false });
    expect(rt.pulls).toEqual([]);
    expect(t.reads).toEqual([]);
    const never = await t.images.ensureImageExists(
      pod(),
      { name: 'c', image: 'absent:1', imagePullPolicy: 'Never' },
      'f',
    );
    expect(never).toMatchObject({
      ok: false,
      reason: 'ErrImageNeverPull',
      message: 'Container image "absent:1" is not present with pull policy of Never',
    });
    expect(t.events).toEqual([
      ['Warning', 'ErrImageNeverPull', 'Container image "absent:1" is not present with pull policy of Never'],
      ['Warning', 'Failed', 'Error: ErrImageNeverPull'],
    ]);
    t.clear();
    expect(await t.images.ensureImageExists(pod(), { name: 'c', image: 'Bad Name' }, 'f')).toMatchObject({
      ok: false,
      reason: 'InvalidImageName',
    });
    expect(t.events.map((e) => e[1])).toEqual(['InspectFailed', 'Failed']);
  });

  it("a pull with the pod's secret: Pulling, then Pulled with time and size", async () => {
    const rt = fakeRuntime({ accept: unauthorized });
    const t = setup(rt, { regcred: regSecret('regcred', '127.0.0.1:5000', 'alice', 's3cret') });
    const r = await t.images.ensureImageExists(
      pod({ imagePullSecrets: [{ name: 'regcred' }] }),
      { name: 'c', image: IMG },
      'spec.containers{c}',
    );
    expect(r).toMatchObject({ ok: true, pulled: true });
    expect(rt.pulls).toEqual([{ image: IMG, auth: { username: 'alice', password: 's3cret' } }]);
    expect(t.events).toEqual([
      ['Normal', 'Pulling', `Pulling image "${IMG}"`],
      [
        'Normal',
        'Pulled',
        `Successfully pulled image "${IMG}" in 0s (0s including waiting). Image size: 1985598 bytes.`,
      ],
    ]);
  });

  it('Always pulls a present image; a secret for another port is not used', async () => {
    const rt = fakeRuntime({ present: new Set([IMG]), accept: unauthorized });
    const t = setup(rt, { other: regSecret('other', '127.0.0.1:5001', 'alice', 's3cret') });
    const r = await t.images.ensureImageExists(
      pod({ imagePullSecrets: [{ name: 'other' }] }),
      { name: 'c', image: IMG, imagePullPolicy: 'Always' },
      'f',
    );
    expect(r).toMatchObject({ ok: false, reason: 'ErrImagePull' });
    expect(rt.pulls).toEqual([{ image: IMG }]);
  });

  it("refused: ErrImagePull with the registry's words, then ImagePullBackOff carrying them until the back-off ends; back-off doubles", async () => {
    const rt = fakeRuntime({ accept: unauthorized });
    const t = setup(rt);
    const c = { name: 'c', image: IMG };
    const noCreds = `Head "http://127.0.0.1:5000/v2/skiff/private/manifests/1": no basic auth credentials`;
    const r1 = await t.images.ensureImageExists(pod(), c, 'f');
    expect(r1).toEqual({ ok: false, reason: 'ErrImagePull', message: noCreds, retryMs: 5000 });
    expect(t.events).toEqual([
      ['Normal', 'Pulling', `Pulling image "${IMG}"`],
      ['Warning', 'Failed', `Failed to pull image "${IMG}": ${noCreds}`],
      ['Warning', 'Failed', 'Error: ErrImagePull'],
    ]);
    t.clear();
    t.tick(5000);
    const r2 = await t.images.ensureImageExists(pod(), c, 'f');
    expect(r2).toEqual({
      ok: false,
      reason: 'ImagePullBackOff',
      message: `Back-off pulling image "${IMG}": ErrImagePull: ${noCreds}`,
      retryMs: 5050,
    });
    expect(t.events).toEqual([
      ['Normal', 'BackOff', `Back-off pulling image "${IMG}"`],
      ['Warning', 'Failed', 'Error: ImagePullBackOff'],
    ]);
    expect(rt.pulls).toHaveLength(1);
    t.tick(5000);
    const r3 = await t.images.ensureImageExists(pod(), c, 'f');
    expect(r3).toMatchObject({ reason: 'ErrImagePull', retryMs: 10_000 });
    expect(t.backoff.delayMs('u1/image/' + IMG)).toBe(20_000);
    expect(rt.pulls).toHaveLength(2);
  });

  it("credentials tried in order until one works; all refused: the errors joined as kubelet's aggregate", async () => {
    const rt = fakeRuntime({ accept: unauthorized });
    const t = setup(rt, {
      wrong: regSecret('wrong', '127.0.0.1:5000', 'alice', 'nope'),
      right: regSecret('right', 'http://127.0.0.1:5000', 'alice', 's3cret'),
    });
    expect(
      await t.images.ensureImageExists(
        pod({ imagePullSecrets: [{ name: 'wrong' }, { name: 'right' }] }),
        { name: 'c', image: IMG },
        'f',
      ),
    ).toMatchObject({ ok: true });
    expect(rt.pulls.map((p) => p.auth?.password)).toEqual(['nope', 's3cret']);

    const rt2 = fakeRuntime({ accept: () => 'unauthorized: authentication required' });
    const t2 = setup(rt2, {
      a: regSecret('a', '127.0.0.1:5000', 'a', '1'),
      b: regSecret('b', '127.0.0.1:5000', 'b', '2'),
    });
    const r = await t2.images.ensureImageExists(
      pod({ imagePullSecrets: [{ name: 'a' }, { name: 'b' }] }),
      { name: 'c', image: IMG },
      'f',
    );
    expect(r).toMatchObject({ ok: false, reason: 'ErrImagePull', message: 'unauthorized: authentication required' });
    expect(aggregateMessage(['x', 'y', 'x'])).toBe('[x, y]');
  });

  it("an unreadable or missing pull secret: kubelet's warning, the pull goes on without it", async () => {
    const rt = fakeRuntime();
    const t = setup(rt, { gone: null });
    const r = await t.images.ensureImageExists(
      pod({ imagePullSecrets: [{ name: 'gone' }, { name: 'hidden' }, { name: '' }] }),
      { name: 'c', image: 'public:1' },
      'f',
    );
    expect(r).toMatchObject({ ok: true, pulled: true });
    expect(t.events[0]).toEqual([
      'Warning',
      'FailedToRetrieveImagePullSecret',
      'Unable to retrieve some image pull secrets (gone, hidden); attempting to pull the image may not succeed.',
    ]);
    expect(rt.pulls).toEqual([{ image: 'public:1' }]);
  });

  it('a malformed secret fails the pull with its error', async () => {
    const rt = fakeRuntime();
    const bad = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bad' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64('{nope') },
    } as unknown as KubeObject;
    const t = setup(rt, { bad });
    const r = await t.images.ensureImageExists(
      pod({ imagePullSecrets: [{ name: 'bad' }] }),
      { name: 'c', image: IMG },
      'f',
    );
    expect(r).toMatchObject({ ok: false, reason: 'ErrImagePull' });
    expect((r as { message: string }).message).toMatch(/^invalid registry credentials in secret "bad"/);
    expect(rt.pulls).toEqual([]);
  });
});

describe('ImagePuller', () => {
  it('identical concurrent pulls share one runtime pull; other credentials get their own', async () => {
    const rt = fakeRuntime();
    const puller = new ImagePuller(rt, silent);
    rt.hold(true);
    const alice = { username: 'alice', password: 's3cret' };
    const a = puller.pull(IMG, [alice]);
    const b = puller.pull('127.0.0.1:5000/skiff/private:1', [{ ...alice }]);
    const c = puller.pull(IMG, [{ username: 'bob', password: 'x' }]);
    await new Promise((r) => setImmediate(r));
    expect(puller.inflightCount).toBe(2);
    rt.hold(false);
    const [ra, rb] = await Promise.all([a, b, c]);
    expect(ra).toBe(rb);
    expect(rt.pulls).toHaveLength(2);
    expect(puller.pullsStarted).toBe(2);
    expect(puller.inflightCount).toBe(0);
    expect(pullKey('busybox', [])).toBe(pullKey('docker.io/library/busybox:latest', []));
    // once done, a new request pulls again
    await puller.pull(IMG, [alice]);
    expect(rt.pulls).toHaveLength(3);
  });

  it('a long pull logs progress lines (layers and bytes) every few seconds', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        cb();
      },
    });
    const rt = fakeRuntime();
    const puller = new ImagePuller(rt, pino({ level: 'info' }, sink), { progressAfterMs: 20, progressEveryMs: 20 });
    rt.hold(true);
    const p = puller.pull(IMG, []);
    const until = Date.now() + 5000;
    while (lines.filter((l) => l.msg === 'pulling image').length < 2 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    rt.hold(false);
    await p;
    const progress = lines.filter((l) => l.msg === 'pulling image');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toMatchObject({ image: IMG, layers: 1, layersDone: 0, downloadedBytes: 10, totalBytes: 100 });
    expect(lines.some((l) => l.msg === 'pulled image')).toBe(true);
  });

  it('the tally: layers done of those seen, bytes downloaded of those known', () => {
    const t = new PullProgressTally();
    t.add({ status: 'Pulling from skiff/private', id: '1' });
    t.add({ status: 'Pulling fs layer', id: 'a' });
    t.add({ status: 'Downloading', id: 'a', current: 500, total: 1000 });
    t.add({ status: 'Already exists', id: 'b' });
    expect(t.summary()).toEqual({ layersDone: 1, layers: 2, downloadedBytes: 500, totalBytes: 1000 });
    t.add({ status: 'Pull complete', id: 'a' });
    expect(t.summary()).toEqual({ layersDone: 2, layers: 2, downloadedBytes: 1000, totalBytes: 1000 });
  });
});
