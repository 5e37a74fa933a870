// The pure parts of the Docker plumbing (agent/runtime/ndjson.ts, docker-events.ts,
// docker-images.ts, docker-inspect.ts, docker-streams.ts, docker-errors.ts): the one NDJSON
// reader, Docker's events, pull messages, inspect answers, log queries and errors as the
// runtime's values.
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dockerMessage, dockerStatus, toRuntimeError } from '../../agent/runtime/docker-errors.js';
import { toRuntimeEvent } from '../../agent/runtime/docker-events.js';
import { imageIdOf, pullMessage } from '../../agent/runtime/docker-images.js';
import { dockerState, dockerTime, sandboxIp, toRuntimeContainer } from '../../agent/runtime/docker-inspect.js';
import { logsQuery } from '../../agent/runtime/docker-streams.js';
import { RuntimeError } from '../../agent/runtime/errors.js';
import { parseImageRef } from '../../agent/runtime/image-ref.js';
import { MAX_LINE_BYTES, readNdjson } from '../../agent/runtime/ndjson.js';

const UID = '0b9d2c1e-1111-4222-8333-444455556666';

function feed(chunks: Array<string | Buffer>): unknown[] {
  const s = new PassThrough();
  const got: unknown[] = [];
  readNdjson(s, (m) => got.push(m));
  for (const c of chunks) s.emit('data', c);
  return got;
}

describe('readNdjson', () => {
  it.each<[string, Array<string | Buffer>, unknown[]]>([
    ['one message a line', ['{"a":1}\n{"a":2}\n'], [{ a: 1 }, { a: 2 }]],
    ['a line split over chunks', ['{"a"', ':1}\n{"b":', '2}\n'], [{ a: 1 }, { b: 2 }]],
    ['blank lines and CRLF', ['\n{"a":1}\r\n\n'], [{ a: 1 }]],
    ['a malformed line is skipped', ['{"a":1}\nnot json\n{"a":2}\n'], [{ a: 1 }, { a: 2 }]],
    ['an unfinished line waits', ['{"a":1}\n{"a":2}'], [{ a: 1 }]],
    ['any JSON value', ['null\n3\n"x"\n'], [null, 3, 'x']],
    [
      'a character split across Buffers',
      [Buffer.from('{"s":"é'), Buffer.from('"}\n')].flatMap((b, i) =>
        i === 0 ? [b.subarray(0, b.length - 1), b.subarray(b.length - 1)] : [b],
      ),
      [{ s: 'é' }],
    ],
  ])('%s', (_n, chunks, want) => expect(feed(chunks)).toEqual(want));

  it('drops a line longer than the limit, up to its newline, then goes on', () => {
    const long = 'x'.repeat(MAX_LINE_BYTES + 10);
    expect(feed(['{"a":1}\n', long, long, 'tail\n{"a":2}\n'])).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('a consumer that throws does not stop the stream', () => {
    const s = new PassThrough();
    const got: unknown[] = [];
    readNdjson(s, (m) => {
      got.push(m);
      throw new Error('bug');
    });
    s.emit('data', '1\n2\n');
    expect(got).toEqual([1, 2]);
  });
});

describe("Docker's events as RuntimeEvents", () => {
  it.each<[string, unknown, unknown]>([
    [
      'die with exit code and pod labels',
      {
        Type: 'container',
        Action: 'die',
        Actor: {
          ID: 'c1',
          Attributes: { 'io.kubernetes.pod.uid': UID, 'io.kubernetes.container.name': 'app', exitCode: '137' },
        },
        time: 1,
        timeNano: 1_000_000_123,
      },
      { type: 'die', id: 'c1', podUid: UID, containerName: 'app', exitCode: 137, timeNano: 1_000_000_123 },
    ],
    [
      'an adopted pooled sandbox: the pod from its name',
      { Action: 'start', Actor: { ID: 's1', Attributes: { name: `k8s_POD_web_shop_${UID}_0` } }, timeNano: 5 },
      { type: 'start', id: 's1', podUid: UID, containerName: undefined, exitCode: undefined, timeNano: 5 },
    ],
    [
      'old form: status, id, time in seconds',
      { status: 'oom', id: 'c2', time: 2 },
      { type: 'oom', id: 'c2', podUid: undefined, containerName: undefined, exitCode: undefined, timeNano: 2e9 },
    ],
    ['other actions are not events', { Action: 'exec_start: sh', Actor: { ID: 'c1' } }, undefined],
    ['health_status is not an event', { Action: 'health_status' }, undefined],
    ['not an object', null, undefined],
    ['an array', ['die'], undefined],
  ])('%s', (_n, raw, want) => expect(toRuntimeEvent(raw)).toEqual(want));
});

describe('pull stream messages', () => {
  it.each<[string, unknown, unknown]>([
    [
      'progress',
      { status: 'Downloading', id: 'abc', progressDetail: { current: 5, total: 10 } },
      { progress: { status: 'Downloading', id: 'abc', current: 5, total: 10 } },
    ],
    [
      'progress without detail',
      { status: 'Pulling fs layer', id: 'abc', progressDetail: {} },
      { progress: { status: 'Pulling fs layer', id: 'abc', current: undefined, total: undefined } },
    ],
    [
      'status only',
      { status: 'Status: Downloaded newer image' },
      { progress: { status: 'Status: Downloaded newer image', id: undefined, current: undefined, total: undefined } },
    ],
    [
      'an error',
      { error: 'manifest unknown', errorDetail: { message: 'manifest unknown (detail)' } },
      { error: 'manifest unknown' },
    ],
    ['an error detail only', { errorDetail: { message: 'denied' } }, { error: 'denied' }],
    ['odd field types', { status: 1, id: 2 }, undefined],
    ['not an object', 'x', undefined],
  ])('%s', (_n, raw, want) => expect(pullMessage(raw)).toEqual(want));
});

describe('imageID', () => {
  it.each<[string, string[] | undefined, string | undefined, string]>([
    ['no digests: the id', undefined, 'busybox', 'sha256:1'],
    [
      'the digest of the requested repository',
      ['other@sha256:a', 'docker.io/library/busybox@sha256:b'],
      'busybox',
      'docker-pullable://docker.io/library/busybox@sha256:b',
    ],
    ['its familiar form', ['other@sha256:a', 'busybox@sha256:c'], 'busybox', 'docker-pullable://busybox@sha256:c'],
    ['else the first', ['other@sha256:a'], 'busybox', 'docker-pullable://other@sha256:a'],
    ['no reference: the first', ['x@sha256:a', 'y@sha256:b'], undefined, 'docker-pullable://x@sha256:a'],
  ])('%s', (_n, digests, image, want) => {
    expect(imageIdOf({ Id: 'sha256:1', RepoDigests: digests ?? [] }, image ? parseImageRef(image) : undefined)).toBe(
      want,
    );
  });
});

describe('inspect answers', () => {
  it.each<[string | undefined, string]>([
    ['created', 'created'],
    ['running', 'running'],
    ['paused', 'running'],
    ['restarting', 'running'],
    ['exited', 'exited'],
    ['dead', 'exited'],
    ['removing', 'exited'],
    [undefined, 'unknown'],
    ['weird', 'unknown'],
  ])('state %s is %s', (s, want) => expect(dockerState(s)).toBe(want));

  it.each<[string | undefined, string | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['0001-01-01T00:00:00Z', undefined],
    ['2026-12-06T05:00:00.123Z', '2026-12-06T05:00:00.123Z'],
  ])('time %s', (t, want) => expect(dockerTime(t)).toBe(want));

  const nets = (n: Record<string, { IPAddress?: string }>) =>
    ({ NetworkSettings: { Networks: n } }) as unknown as Pick<Docker.ContainerInspectInfo, 'NetworkSettings'>;
  it.each<[string, Record<string, { IPAddress?: string }>, string | undefined, string | undefined]>([
    ['on its network', { bridge: { IPAddress: '172.17.0.2' }, pods: { IPAddress: '10.1.0.5' } }, 'pods', '10.1.0.5'],
    ['else any', { bridge: { IPAddress: '172.17.0.2' } }, 'pods', '172.17.0.2'],
    ['none', { none: { IPAddress: '' } }, 'none', undefined],
  ])('sandbox IP %s', (_n, n, network, want) => expect(sandboxIp(nets(n), network)).toBe(want));

  const info = (over: Record<string, unknown>): Docker.ContainerInspectInfo =>
    ({
      Id: 'c1',
      Name: `/k8s_app_web_shop_${UID}_4`,
      Created: '2026-12-06T05:00:00Z',
      Image: 'sha256:1',
      State: {
        Status: 'exited',
        ExitCode: 137,
        StartedAt: '2026-12-06T05:00:01Z',
        FinishedAt: '2026-12-06T05:00:02Z',
        OOMKilled: true,
        Error: '',
        Pid: 0,
      },
      Config: { Image: 'busybox', Labels: {} },
      HostConfig: { CgroupParent: '/kubepods/besteffort/pod1' },
      NetworkSettings: { Networks: {} },
      ...over,
    }) as unknown as Docker.ContainerInspectInfo;

  it('a container without labels: from its name', () => {
    expect(toRuntimeContainer(info({}), 'docker-pullable://busybox@sha256:b')).toEqual({
      id: 'c1',
      name: `k8s_app_web_shop_${UID}_4`,
      type: 'container',
      podUid: UID,
      podName: 'web',
      namespace: 'shop',
      containerName: 'app',
      attempt: 4,
      hash: undefined,
      sandboxId: undefined,
      state: 'exited',
      exitCode: 137,
      createdAt: '2026-12-06T05:00:00Z',
      startedAt: '2026-12-06T05:00:01Z',
      finishedAt: '2026-12-06T05:00:02Z',
      oomKilled: true,
      error: undefined,
      image: 'busybox',
      imageID: 'docker-pullable://busybox@sha256:b',
      pid: undefined,
      cgroupParent: '/kubepods/besteffort/pod1',
      labels: {},
    });
  });

  it('a running sandbox: labels first, its IP on its network', () => {
    const labels = {
      'io.kubernetes.docker.type': 'podsandbox',
      'io.skiff.sandbox.attempt': '2',
      'io.kubernetes.container.restartCount': '9',
      'io.kubernetes.pod.uid': 'u',
      'io.kubernetes.pod.name': 'p',
      'io.kubernetes.pod.namespace': 'n',
      'io.kubernetes.container.name': 'POD',
      'io.skiff.network': 'pods',
    };
    const rc = toRuntimeContainer(
      info({
        Name: '/skiff-pool_n1_abc',
        State: {
          Status: 'running',
          ExitCode: 0,
          StartedAt: '2026-12-06T05:00:01Z',
          FinishedAt: '0001-01-01T00:00:00Z',
          OOMKilled: false,
          Error: '',
          Pid: 42,
        },
        Config: { Image: 'pause', Labels: labels },
        NetworkSettings: { Networks: { pods: { IPAddress: '10.1.0.7' } } },
      }),
      'sha256:2',
    );
    expect(rc).toMatchObject({
      type: 'sandbox',
      attempt: 2,
      podUid: 'u',
      podName: 'p',
      namespace: 'n',
      containerName: 'POD',
      state: 'running',
      exitCode: undefined,
      finishedAt: undefined,
      pid: 42,
      ip: '10.1.0.7',
    });
  });

  it('a hostNetwork sandbox has no IP', () => {
    const labels = { 'io.kubernetes.docker.type': 'podsandbox', 'io.skiff.network': 'host' };
    expect(
      toRuntimeContainer(
        info({
          Config: { Image: 'pause', Labels: labels },
          NetworkSettings: { Networks: { host: { IPAddress: '1.2.3.4' } } },
        }),
        'x',
      ).ip,
    ).toBeUndefined();
  });
});

describe('logs query', () => {
  const now = 1_000_000_000_000;
  it.each<[string, Parameters<typeof logsQuery>[0], Partial<ReturnType<typeof logsQuery>>]>([
    ['defaults', {}, { stdout: true, stderr: true, follow: false, timestamps: false, tail: 'all', since: undefined }],
    [
      'follow, timestamps, tail',
      { follow: true, timestamps: true, tailLines: 10 },
      { follow: true, timestamps: true, tail: '10' },
    ],
    ['tail 0', { tailLines: 0 }, { tail: '0' }],
    ['negative tail: all', { tailLines: -1 }, { tail: 'all' }],
    ['sinceSeconds', { sinceSeconds: 60 }, { since: now / 1000 - 60 }],
    ['sinceTime wins', { sinceSeconds: 60, sinceTime: '2001-09-09T01:46:40Z' }, { since: 1_000_000_000 }],
  ])('%s', (_n, opts, want) => expect(logsQuery(opts, now)).toMatchObject(want));

  it('a bad sinceTime is InvalidArgument', () => {
    expect(() => logsQuery({ sinceTime: 'yesterday' }, now)).toThrow(
      expect.objectContaining({ reason: 'InvalidArgument', message: 'invalid sinceTime yesterday' }),
    );
  });
});

describe("Docker's errors as RuntimeErrors", () => {
  const http = (statusCode: number, message: string) =>
    Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message}`), { statusCode, json: { message } });
  it.each<[string, unknown, string, string, number | undefined]>([
    ['404', http(404, 'No such container: x'), 'NotFound', 'No such container: x', 404],
    ['409', http(409, 'name in use'), 'Conflict', 'name in use', 409],
    ['400', http(400, 'bad'), 'InvalidArgument', 'bad', 400],
    ['500 with context', http(500, 'boom'), 'RuntimeError', 'start c1: boom', 500],
    [
      'socket refused',
      Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' }),
      'Unavailable',
      'start c1: cannot reach Docker: connect ECONNREFUSED /var/run/docker.sock',
      undefined,
    ],
    [
      'a string body',
      Object.assign(new Error('(HTTP code 500) server error - x'), { statusCode: 500, json: ' plain text ' }),
      'RuntimeError',
      'start c1: plain text',
      500,
    ],
    [
      'no json: the modem prefix stripped',
      Object.assign(new Error('(HTTP code 502) bad gateway - upstream down'), { statusCode: 502 }),
      'RuntimeError',
      'start c1: upstream down',
      502,
    ],
    ['not an error at all', 'weird', 'RuntimeError', 'start c1: weird', undefined],
  ])('%s', (_n, e, reason, message, status) => {
    const re = toRuntimeError(e, 'start c1');
    expect(re).toBeInstanceOf(RuntimeError);
    expect({ reason: re.reason, message: re.message, status: re.statusCode }).toEqual({ reason, message, status });
  });

  it('a RuntimeError passes through; status and message read safely', () => {
    const re = new RuntimeError('NotFound', 'x');
    expect(toRuntimeError(re, 'ctx')).toBe(re);
    expect(dockerStatus({ statusCode: 304 })).toBe(304);
    expect(dockerStatus(null)).toBeUndefined();
    expect(dockerStatus({ statusCode: '304' })).toBeUndefined();
    expect(dockerMessage(undefined)).toBe('undefined');
  });
});
