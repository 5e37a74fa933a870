// configMap/secret/downwardAPI/projected volume payloads (kubelet's MakePayload and
// CollectData), their set-up on disk, the agent's object cache, and the node authorizer's
// pod -> ConfigMap/Secret relationship the server checks for getObject.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { GetObject, ObjectReply, parseAgentMessage, parseServerMessage } from '../../proto/agent-protocol.js';
import {
  formatMap,
  resolveMounts,
  setUpVolumes,
  volumePayload,
  volumeReferences,
  type VolumeSources,
} from '../../agent/pods/volumes.js';
import { ObjectCache, ObjectError } from '../../agent/pods/object-cache.js';
import { podReferences } from '../../controlplane/agents/agent-session.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const ctx = { podIP: '', hostIP: '192.168.1.2', nodeName: 'n1' };
const cm = (name: string, data: Record<string, string>, binaryData?: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'ns', uid: name },
    data,
    ...(binaryData ? { binaryData } : {}),
  }) as KubeObject;
const secret = (name: string, data: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'ns', uid: name },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  }) as KubeObject;
const pod = (volumes: unknown[], containers: unknown[] = [{ name: 'c', image: 'i' }]): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'ns',
      uid: 'uid-1',
      labels: { b: '2', a: 'x"y' },
      annotations: { note: 'line1\nline2' },
    },
    spec: { nodeName: 'n1', containers, volumes },
  }) as KubeObject;
const src = (
  cms: Record<string, KubeObject | null | Error>,
  secrets: Record<string, KubeObject | null | Error> = {},
): VolumeSources => ({ configMaps: new Map(Object.entries(cms)), secrets: new Map(Object.entries(secrets)) });
const text = (p: Record<string, { data: Buffer | string; mode: number }>) =>
  Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [String(v.data), v.mode.toString(8)]]));

describe('volume payloads', () => {
  it('configMap: all keys (data and binaryData) with defaultMode, or the listed items', () => {
    const p = pod([]);
    const all = volumePayload(
      p,
      { name: 'v', configMap: { name: 'cfg', defaultMode: 0o640 } },
      src({ cfg: cm('cfg', { a: '1' }, { bin: b64('BIN') }) }),
      ctx,
    );
    expect(text(all)).toEqual({ a: ['1', '640'], bin: ['BIN', '640'] });
    const items = volumePayload(
      p,
      { name: 'v', configMap: { name: 'cfg', items: [{ key: 'a', path: 'dir/a.conf', mode: 0o600 }] } },
      src({ cfg: cm('cfg', { a: '1', b: '2' }) }),
      ctx,
    );
    expect(text(items)).toEqual({ 'dir/a.conf': ['1', '600'] });
    expect(() =>
      volumePayload(
        p,
        { name: 'v', configMap: { name: 'cfg', items: [{ key: 'zz', path: 'z' }] } },
        src({ cfg: cm('cfg', {}) }),
        ctx,
      ),
    ).toThrow('configmap references non-existent config key: zz');
    expect(() => volumePayload(p, { name: 'v', configMap: { name: 'cfg' } }, src({ cfg: null }), ctx)).toThrow(
      'configmap "cfg" not found',
    );
    expect(
      volumePayload(p, { name: 'v', configMap: { name: 'cfg', optional: true } }, src({ cfg: null }), ctx),
    ).toEqual({});
    expect(() =>
      volumePayload(
        p,
        { name: 'v', configMap: { name: 'cfg' } },
        src({ cfg: new Error('configmaps "cfg" is forbidden') }),
        ctx,
      ),
    ).toThrow('forbidden');
  });

  it("secret: base64-decoded, default mode 0644, kubelet's messages", () => {
    const p = pod([]);
    expect(
      text(
        volumePayload(
          p,
          { name: 'v', secret: { secretName: 's' } },
          src({}, { s: secret('s', { password: 'hunter2' }) }),
          ctx,
        ),
      ),
    ).toEqual({ password: ['hunter2', '644'] });
    expect(() => volumePayload(p, { name: 'v', secret: { secretName: 's' } }, src({}, { s: null }), ctx)).toThrow(
      'secret "s" not found',
    );
    expect(() =>
      volumePayload(
        p,
        { name: 'v', secret: { secretName: 's', items: [{ key: 'k', path: 'k' }] } },
        src({}, { s: secret('s', {}) }),
        ctx,
      ),
    ).toThrow('references non-existent secret key: k');
  });

  it('downwardAPI: labels/annotations formatted as kubelet, names, resources', () => {
    const p = pod([], [{ name: 'c', image: 'i', resources: { limits: { memory: '32Mi' } } }]);
    const payload = volumePayload(
      p,
      {
        name: 'v',
        downwardAPI: {
          defaultMode: 0o644,
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
            { path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' }, mode: 0o400 },
            { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } },
          ],
        },
      },
      src({}),
      ctx,
    );
    expect(text(payload)).toEqual({
      labels: ['a="x\\"y"\nb="2"', '644'],
      annotations: ['note="line1\\nline2"', '644'],
      name: ['web', '644'],
      ns: ['ns', '400'],
      mem: ['32', '644'],
    });
    expect(formatMap({})).toBe('');
  });

  it("projected: sources merged with the volume's defaultMode; serviceAccountToken skipped with a warning", () => {
    const warnings: string[] = [];
    const payload = volumePayload(
      pod([]),
      {
        name: 'all',
        projected: {
          defaultMode: 0o440,
          sources: [
            { configMap: { name: 'cfg', items: [{ key: 'a', path: 'cfg/a' }] } },
            { secret: { name: 's', items: [{ key: 'p', path: 'sec/p', mode: 0o400 }] } },
            { downwardAPI: { items: [{ path: 'podname', fieldRef: { fieldPath: 'metadata.name' } }] } },
            { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
            { configMap: { name: 'maybe', optional: true } },
          ],
        },
      },
      src({ cfg: cm('cfg', { a: '1' }), maybe: null }, { s: secret('s', { p: 'pw' }) }),
      ctx,
      (w) => warnings.push(w.message),
    );
    expect(text(payload)).toEqual({ 'cfg/a': ['1', '440'], 'sec/p': ['pw', '400'], podname: ['web', '440'] });
    expect(warnings).toEqual([
      'volume "all": serviceAccountToken projection skipped (no token file): the agent cannot ask the server for tokens',
    ]);
  });

  it('lists the objects the volumes read', () => {
    const refs = volumeReferences(
      pod([
        { name: 'a', configMap: { name: 'cm1' } },
        { name: 'b', secret: { secretName: 's1' } },
        { name: 'c', projected: { sources: [{ configMap: { name: 'cm2' } }, { secret: { name: 's2' } }] } },
        { name: 'd', emptyDir: {} },
      ]),
    );
    expect([...refs.configMaps].sort()).toEqual(['cm1', 'cm2']);
    expect([...refs.secrets].sort()).toEqual(['s1', 's2']);
  });
});

describe('volume set-up on disk and mounts', () => {
  let data: string;
  beforeEach(() => {
    data = mkdtempSync(join(tmpdir(), 'skiff-vol-'));
  });
  afterEach(() => rmSync(data, { recursive: true, force: true }));

  it('writes the volumes under the pod dir, mounts them read-only, keeps the last good content on errors', () => {
    const volumes = [
      { name: 'cfg', configMap: { name: 'cfg', defaultMode: 0o644 } },
      { name: 'sec', secret: { secretName: 's', defaultMode: 0o400 } },
      { name: 'scratch', emptyDir: {} },
    ];
    const p = pod(volumes, [
      {
        name: 'c',
        image: 'i',
        volumeMounts: [
          { name: 'cfg', mountPath: '/etc/cfg', readOnly: false },
          { name: 'sec', mountPath: '/etc/sec' },
          { name: 'cfg', mountPath: '/etc/one.conf', subPath: 'one' },
          { name: 'scratch', mountPath: '/tmp/s' },
        ],
      },
    ]);
    const r = setUpVolumes(p, data, src({ cfg: cm('cfg', { one: '1' }) }, { s: secret('s', { pw: 'x' }) }), ctx);
    expect(r).toMatchObject({ written: ['cfg', 'sec'], errors: [], notReady: [] });
    const cfgDir = join(data, 'pods', 'uid-1', 'volumes', 'kubernetes.io~configmap', 'cfg');
    const secDir = join(data, 'pods', 'uid-1', 'volumes', 'kubernetes.io~secret', 'sec');
    expect(readFileSync(join(cfgDir, 'one'), 'utf8')).toBe('1');
    expect(statSync(join(secDir, 'pw')).mode & 0o777).toBe(0o400);
    expect(statSync(join(data, 'pods', 'uid-1', 'volumes', 'kubernetes.io~secret')).mode & 0o777).toBe(0o700);
    const mounts = resolveMounts(p, p.spec.containers[0], data);
    expect(mounts[0]).toEqual({ hostPath: cfgDir, containerPath: '/etc/cfg', readOnly: true, create: false });
    expect(mounts[1]).toEqual({ hostPath: secDir, containerPath: '/etc/sec', readOnly: true, create: false });
    // subPath: the file of this generation itself, not the symlink that later moves
    expect(mounts[2]!.hostPath).toBe(join(cfgDir, readlinkSync(join(cfgDir, '..data')), 'one'));
    expect(mounts[3]).toMatchObject({ containerPath: '/tmp/s', create: true });

    // the ConfigMap is deleted: the volume keeps its content, the error is reported, the volume stays ready
    const again = setUpVolumes(p, data, src({ cfg: null }, { s: secret('s', { pw: 'x' }) }), ctx);
    expect(again).toMatchObject({
      written: [],
      errors: [{ volume: 'cfg', message: 'configmap "cfg" not found' }],
      notReady: [],
    });
    expect(readFileSync(join(cfgDir, 'one'), 'utf8')).toBe('1');
    // and changed content shows through the same directory
    expect(
      setUpVolumes(p, data, src({ cfg: cm('cfg', { one: '2' }) }, { s: secret('s', { pw: 'x' }) }), ctx).written,
    ).toEqual(['cfg']);
    expect(readFileSync(join(cfgDir, 'one'), 'utf8')).toBe('2');
  });

  it('a volume never set up is not ready and its mounts cannot be resolved', () => {
    const p = pod(
      [{ name: 'cfg', configMap: { name: 'missing' } }],
      [{ name: 'c', image: 'i', volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] }],
    );
    const r = setUpVolumes(p, data, src({ missing: null }), ctx);
    expect(r.notReady).toEqual(['cfg']);
    expect(existsSync(join(data, 'pods', 'uid-1', 'volumes', 'kubernetes.io~configmap', 'cfg', '..data'))).toBe(false);
    expect(() => resolveMounts(p, p.spec.containers[0], data)).toThrow('volume "cfg" is not set up');
  });
});

describe('object cache', () => {
  it('shares requests, honours max age, remembers NotFound, falls back to the last value when the server cannot be asked', async () => {
    let t = 1000;
    const calls: string[] = [];
    let mode: 'ok' | 'missing' | 'down' | 'forbidden' = 'ok';
    let version = 1;
    const cache = new ObjectCache(
      async (kind, ns, name) => {
        calls.push(`${kind}/${ns}/${name}`);
        await new Promise((r) => setTimeout(r, 5));
        if (mode === 'down') throw new Error('not connected to the server');
        if (mode === 'missing')
          return { error: { code: 404, reason: 'NotFound', message: 'configmaps "a" not found' } };
        if (mode === 'forbidden')
          return { error: { code: 403, reason: 'Forbidden', message: 'configmaps "a" is forbidden' } };
        return { object: cm(name, { v: String(version) }) as never };
      },
      () => t,
    );
    const [x, y] = await Promise.all([cache.get('ConfigMap', 'ns', 'a', 0), cache.get('ConfigMap', 'ns', 'a', 0)]);
    expect(x).toBe(y);
    expect(calls).toHaveLength(1);
    version = 2;
    t += 10_000;
    expect((await cache.get('ConfigMap', 'ns', 'a', 30_000))!.data).toEqual({ v: '1' });
    expect(calls).toHaveLength(1);
    t += 30_000;
    expect((await cache.get('ConfigMap', 'ns', 'a', 30_000))!.data).toEqual({ v: '2' });
    expect(calls).toHaveLength(2);
    mode = 'down';
    expect((await cache.get('ConfigMap', 'ns', 'a', 0))!.data).toEqual({ v: '2' });
    await expect(cache.get('Secret', 'ns', 'never-read', 0)).rejects.toThrow(ObjectError);
    mode = 'missing';
    expect(await cache.get('ConfigMap', 'ns', 'a', 0)).toBeNull();
    mode = 'forbidden';
    await expect(cache.get('ConfigMap', 'ns', 'a', 0)).rejects.toMatchObject({ code: 403 });
    mode = 'down';
    await expect(cache.get('ConfigMap', 'ns', 'a', 0)).rejects.toThrow('not connected');
  });
});

describe('getObject protocol and the node authorizer relationship', () => {
  it('validates the messages', () => {
    expect(
      parseAgentMessage(JSON.stringify({ type: 'getObject', id: '1', kind: 'Secret', namespace: 'default', name: 's' }))
        .ok,
    ).toBe(true);
    expect(
      parseAgentMessage(JSON.stringify({ type: 'getObject', id: '1', kind: 'Pod', namespace: 'default', name: 's' }))
        .ok,
    ).toBe(false);
    expect(
      parseAgentMessage(JSON.stringify({ type: 'getObject', id: '', kind: 'Secret', namespace: 'default', name: 's' }))
        .ok,
    ).toBe(false);
    expect(
      GetObject.safeParse({ type: 'getObject', id: 'x'.repeat(65), kind: 'Secret', namespace: 'd', name: 's' }).success,
    ).toBe(false);
    expect(
      parseServerMessage(
        JSON.stringify({ type: 'object', id: '1', error: { code: 403, reason: 'Forbidden', message: 'no' } }),
      ).ok,
    ).toBe(true);
    expect(
      parseServerMessage(
        JSON.stringify({ type: 'object', id: '1', object: { metadata: { name: 'x', uid: 'u' }, data: {} } }),
      ).ok,
    ).toBe(true);
    expect(ObjectReply.safeParse({ type: 'object', id: '1', object: { data: {} } }).success).toBe(false);
  });

  it('a pod references what its env, envFrom, volumes, projections and imagePullSecrets name', () => {
    const p = {
      metadata: { name: 'p', namespace: 'ns', uid: 'u' },
      spec: {
        nodeName: 'n1',
        imagePullSecrets: [{ name: 'pull' }],
        initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'init-secret' } }] }],
        containers: [
          {
            name: 'c',
            env: [
              { name: 'A', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } },
              { name: 'B', valueFrom: { secretKeyRef: { name: 'env-s', key: 'k' } } },
            ],
            envFrom: [{ configMapRef: { name: 'from-cm' } }],
          },
        ],
        volumes: [
          { name: 'v1', configMap: { name: 'vol-cm' } },
          { name: 'v2', secret: { secretName: 'vol-s' } },
          { name: 'v3', projected: { sources: [{ configMap: { name: 'proj-cm' } }, { secret: { name: 'proj-s' } }] } },
        ],
      },
    } as unknown as KubeObject;
    for (const n of ['env-cm', 'from-cm', 'vol-cm', 'proj-cm']) expect(podReferences(p, 'ConfigMap', n), n).toBe(true);
    for (const n of ['pull', 'init-secret', 'env-s', 'vol-s', 'proj-s'])
      expect(podReferences(p, 'Secret', n), n).toBe(true);
    // kinds are not interchangeable, and unrelated names are not referenced
    expect(podReferences(p, 'Secret', 'env-cm')).toBe(false);
    expect(podReferences(p, 'ConfigMap', 'vol-s')).toBe(false);
    expect(podReferences(p, 'Secret', 'other')).toBe(false);
  });
});
