// The pull-secret keyring against kubelet's own cases (pkg/credentialprovider/keyring_test.go,
// config_test.go, secrets_test.go): URL globs, ports, paths, Docker Hub aliases, order.
import { describe, expect, it } from 'vitest';
import {
  decodeAuthField,
  DockerKeyring,
  dockerConfigOfSecret,
  isDefaultRegistryMatch,
  keyringFromSecrets,
  keyringKey,
  urlsMatch,
  type DockerConfig,
} from '../../agent/images/keyring.js';
import type { KubeObject } from '../../proto/meta.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const cfg = (entries: Record<string, { username: string; password: string; email?: string }>): DockerConfig =>
  new Map(Object.entries(entries));
const secret = (name: string, type: string, data: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'default' },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  }) as unknown as KubeObject;

describe('urlsMatch (keyring_test.go TestURLsMatch)', () => {
  it.each([
    ['*.kubernetes.io', 'prefix.kubernetes.io', true],
    ['prefix.*.io', 'prefix.kubernetes.io', true],
    ['prefix.kubernetes.*', 'prefix.kubernetes.io', true],
    ['*-good.kubernetes.io', 'prefix-good.kubernetes.io', true],
    ['*.kubernetes.io/blah', 'prefix.kubernetes.io/blah', true],
    ['prefix.*.io/foo', 'prefix.kubernetes.io/foo/bar', true],
    ['*.kubernetes.io:1111/blah', 'prefix.kubernetes.io:1111/blah', true],
    ['prefix.*.io:1111/foo', 'prefix.kubernetes.io:1111/foo/bar', true],
    ['*.kubernetes.io', 'kubernetes.io', false],
    ['*.*.kubernetes.io', 'prefix.kubernetes.io', false],
    ['*.*.kubernetes.io', 'kubernetes.io', false],
    ['kubernetes.io', 'kubernetes.com', false],
    ['k*.io', 'quay.io', false],
    ['*.kubernetes.io:1234/blah', 'prefix.kubernetes.io:1111/blah', false],
    ['prefix.*.io/foo', 'prefix.kubernetes.io:1111/foo/bar', false],
    ['127.0.0.1:5000', '127.0.0.1:5000/team/app', true],
    ['127.0.0.1:5000', '127.0.0.1:5001/team/app', false],
    ['127.0.0.1', '127.0.0.1:5000/team/app', false],
    // a ? starts the URL's query, as in Go's url.Parse: no glob there
    ['reg?.example.com', 'reg1.example.com/app', false],
    ['reg[0-9].example.com', 'regx.example.com/app', false],
    ['reg[^x].example.com', 'reg1.example.com/app', true],
  ])('%s vs %s -> %s', (glob, target, want) => {
    expect(urlsMatch(glob, target)).toBe(want);
  });
});

describe('keyring lookups', () => {
  const creds = { username: 'foo', password: 'bar', email: 'foo@bar.baz' };
  it.each([
    ['https://hello.kubernetes.io', 'hello.kubernetes.io'],
    ['https://*.docker.io', 'prefix.docker.io'],
    ['https://prefix.*.io', 'prefix.docker.io'],
    ['https://prefix.docker.*', 'prefix.docker.io'],
    ['https://*.docker.io/path', 'prefix.docker.io/path'],
    ['https://prefix.*.io/path', 'prefix.docker.io/path/subpath'],
    ['https://prefix.docker.*/path', 'prefix.docker.io/path'],
    ['https://*.docker.io:8888', 'prefix.docker.io:8888'],
    ['https://prefix.*.io:8888', 'prefix.docker.io:8888'],
    ['https://prefix.docker.*:8888', 'prefix.docker.io:8888'],
    ['https://*.docker.io/path:1111', 'prefix.docker.io/path:1111'],
    ['https://*.docker.io/v1/', 'prefix.docker.io/path:1111'],
    ['https://*.docker.io/v2/', 'prefix.docker.io/path:1111'],
    ['https://prefix.docker.*/path:1111', 'prefix.docker.io/path:1111'],
    ['prefix.docker.io:1111', 'prefix.docker.io:1111/path'],
    ['*.docker.io:1111', 'prefix.docker.io:1111/path'],
    ['http://127.0.0.1:5000', '127.0.0.1:5000/skiff/private'],
  ])('TestDockerKeyringForGlob: %s finds %s', (glob, target) => {
    const ring = new DockerKeyring();
    ring.add(cfg({ [glob]: creds }));
    expect(ring.lookup(`${target}/foo/bar`)).toEqual([creds]);
  });

  it.each([
    ['https://hello.kubernetes.io', 'world.mesos.org/foo/bar'],
    ['https://*.docker.com', 'prefix.docker.io'],
    ['https://suffix.*.io', 'prefix.docker.io'],
    ['https://prefix.docker.c*', 'prefix.docker.io'],
    ['https://prefix.*.io/path:1111', 'prefix.docker.io/path/subpath:1111'],
    ['suffix.*.io', 'prefix.docker.io'],
    ['https://index.docker.io/v1/', 'world.mesos.org/foo/bar'],
    ['registry-1.docker.io', 'docker.io/library/busybox'],
  ])('TestKeyringMiss: %s does not find %s', (glob, target) => {
    const ring = new DockerKeyring();
    ring.add(cfg({ [glob]: creds }));
    expect(ring.lookup(`${target}/foo/bar`)).toEqual([]);
  });

  it("Docker Hub: kubectl's default server (https://index.docker.io/v1/) serves unqualified, docker.io and index.docker.io names", () => {
    const ring = new DockerKeyring();
    ring.add(cfg({ 'https://index.docker.io/v1/': creds }));
    for (const image of [
      'google/docker-registry',
      'jenkins',
      'docker.io/library/busybox',
      'index.docker.io/google/docker-registry',
    ]) {
      expect(ring.lookup(image)).toEqual([creds]);
    }
    expect(ring.lookup('quay.io/google/docker-registry')).toEqual([]);
    // a docker.io key matches docker.io names directly
    const hub = new DockerKeyring();
    hub.add(cfg({ 'docker.io': creds }));
    expect(hub.lookup('docker.io/library/busybox')).toEqual([creds]);
  });

  it('isDefaultRegistryMatch', () => {
    for (const [image, want] of [
      ['foo/bar', true],
      ['docker.io/foo/bar', true],
      ['index.docker.io/foo/bar', true],
      ['foo', true],
      ['', false],
      ['registry.tld/foo/bar', false],
      ['registry:5000/foo/bar', false],
      ['myhostdocker.io/foo/bar', false],
    ] as const) {
      expect(isDefaultRegistryMatch(image), image).toBe(want);
    }
  });

  it('TestDockerKeyringLookup: the more specific path first, every match kept', () => {
    const ada = { username: 'ada', password: 'smash', email: 'ada@example.com' };
    const grace = { username: 'grace', password: 'squash', email: 'grace@example.com' };
    const ring = new DockerKeyring();
    ring.add(cfg({ 'bar.example.com/pong': grace, 'bar.example.com': ada }));
    expect(ring.lookup('bar.example.com')).toEqual([ada]);
    expect(ring.lookup('bar.example.com/pong')).toEqual([grace, ada]);
    expect(ring.lookup('bar.example.com/ping')).toEqual([ada]);
    expect(ring.lookup('bar.example.com/pongz')).toEqual([grace, ada]);
    expect(ring.lookup('bar.example.com/pong/pang')).toEqual([grace, ada]);
    expect(ring.lookup('example.com')).toEqual([]);
    expect(ring.lookup('foo.example.com')).toEqual([]);
  });

  it('TestIssue3797: a key with scheme and /v1/ path matches by host', () => {
    const rex = { username: 'rex', password: 'tiny arms', email: 'rex@example.com' };
    const ring = new DockerKeyring();
    ring.add(cfg({ 'https://quay.io/v1/': rex }));
    for (const image of ['quay.io', 'quay.io/foo', 'quay.io/foo/bar']) expect(ring.lookup(image)).toEqual([rex]);
  });

  it('keys: scheme dropped, /v1/ and /v2/ mean the host, a bad port ignored', () => {
    expect(keyringKey('https://quay.io/v1/')).toBe('quay.io');
    expect(keyringKey('http://reg:5000/v2/')).toBe('reg:5000');
    expect(keyringKey('reg.example.com/team')).toBe('reg.example.com/team');
    expect(keyringKey('reg:abc')).toBeUndefined();
  });
});

describe('pull secrets (config.go, secrets.go)', () => {
  it('the auth field: padded or not, user:password (the password may hold colons)', () => {
    expect(decodeAuthField(b64('foo:bar'))).toEqual({ username: 'foo', password: 'bar' });
    expect(decodeAuthField(b64('foo:ba:r').replace(/=+$/, ''))).toEqual({ username: 'foo', password: 'ba:r' });
    expect(() => decodeAuthField(b64('nocolon'))).toThrow(
      'unable to parse auth field, must be formatted as base64(username:password)',
    );
    expect(() => decodeAuthField('!!!')).toThrow(/illegal base64/);
  });

  it('kubernetes.io/dockerconfigjson (auths) and legacy kubernetes.io/dockercfg; auth overrides username/password; other types ignored', () => {
    const json = secret('regcred', 'kubernetes.io/dockerconfigjson', {
      '.dockerconfigjson': JSON.stringify({
        auths: { '127.0.0.1:5000': { username: 'alice', password: 's3cret', email: 'a@x', auth: b64('alice:s3cret') } },
      }),
    });
    const legacy = secret('old', 'kubernetes.io/dockercfg', {
      '.dockercfg': JSON.stringify({
        'https://quay.io/v1/': { auth: b64('bob:pw'), username: 'ignored', password: 'ignored' },
      }),
    });
    const opaque = secret('o', 'Opaque', {
      '.dockerconfigjson': JSON.stringify({ auths: { 'quay.io': { auth: b64('x:y') } } }),
    });
    expect([...dockerConfigOfSecret(json)!]).toEqual([
      ['127.0.0.1:5000', { username: 'alice', password: 's3cret', email: 'a@x' }],
    ]);
    expect([...dockerConfigOfSecret(legacy)!]).toEqual([['https://quay.io/v1/', { username: 'bob', password: 'pw' }]]);
    expect(dockerConfigOfSecret(opaque)).toBeUndefined();
    const ring = keyringFromSecrets([opaque, json, legacy]);
    expect(ring.lookup('127.0.0.1:5000/skiff/private')).toEqual([
      { username: 'alice', password: 's3cret', email: 'a@x' },
    ]);
    expect(ring.lookup('quay.io/team/app')).toEqual([{ username: 'bob', password: 'pw' }]);
    expect(ring.lookup('127.0.0.1:5001/skiff/private')).toEqual([]);
  });

  it("the same registry in two secrets: both credentials, in the secrets' order", () => {
    const a = secret('a', 'kubernetes.io/dockerconfigjson', {
      '.dockerconfigjson': JSON.stringify({ auths: { 'reg.example.com': { username: 'one', password: '1' } } }),
    });
    const b = secret('b', 'kubernetes.io/dockerconfigjson', {
      '.dockerconfigjson': JSON.stringify({ auths: { 'https://reg.example.com': { username: 'two', password: '2' } } }),
    });
    expect(
      keyringFromSecrets([a, b])
        .lookup('reg.example.com/app')
        .map((c) => c.username),
    ).toEqual(['one', 'two']);
  });

  it('a malformed secret is an error (kubelet fails the pull with it)', () => {
    const bad = secret('bad', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': '{not json' });
    expect(() => keyringFromSecrets([bad])).toThrow(/invalid registry credentials in secret "bad"/);
    // the parser's own message quotes the input (a password): it must never reach the error
    const leaky = secret('leaky', 'kubernetes.io/dockercfg', { '.dockercfg': 'password: hunter2' });
    expect(() => keyringFromSecrets([leaky])).toThrow('invalid registry credentials in secret "leaky": not valid JSON');
  });
});
