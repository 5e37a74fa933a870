// The agent's server list (agent/connection/server-list.ts): configured servers kept, learned
// ones from the default/kubernetes endpoints, rotation, and the list kept across restarts.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ServerList,
  loadLearnedServers,
  saveLearnedServers,
  serversFromNetworkState,
} from '../../agent/connection/server-list.js';
import type { NetworkState } from '../../proto/agent-protocol.js';

type Svc = NetworkState['services'][number];
const svc = (namespace: string, name: string, endpoints: Svc['endpoints']): Svc => ({
  namespace,
  name,
  type: 'ClusterIP',
  clusterIP: '10.43.0.1',
  ports: [{ name: 'https', protocol: 'TCP', port: 443 }],
  endpoints,
});
const ep = (ip: string, ready: boolean, ports: { name: string; port: number }[]): Svc['endpoints'][number] => ({
  ip,
  ready,
  ports: ports.map((p) => ({ ...p, protocol: 'TCP' as const })),
});

describe('serversFromNetworkState', () => {
  it.each<[string, Svc[], string[]]>([
    ['no kubernetes Service', [svc('default', 'web', [ep('10.0.0.1', true, [{ name: 'https', port: 6443 }])])], []],
    [
      'its ready endpoints, sorted, each once',
      [
        svc('default', 'kubernetes', [
          ep('10.0.0.2', true, [{ name: 'https', port: 6443 }]),
          ep('10.0.0.1', true, [{ name: 'https', port: 6443 }]),
          ep('10.0.0.1', true, [{ name: 'https', port: 6443 }]),
        ]),
      ],
      ['https://10.0.0.1:6443', 'https://10.0.0.2:6443'],
    ],
    [
      'not ready left out',
      [
        svc('default', 'kubernetes', [
          ep('10.0.0.1', true, [{ name: 'https', port: 6443 }]),
          ep('10.0.0.3', false, [{ name: 'https', port: 6443 }]),
        ]),
      ],
      ['https://10.0.0.1:6443'],
    ],
    [
      'the port named https, else the first',
      [
        svc('default', 'kubernetes', [
          ep('10.0.0.1', true, [
            { name: 'metrics', port: 9000 },
            { name: 'https', port: 16443 },
          ]),
          ep('10.0.0.2', true, [{ name: '', port: 7443 }]),
          ep('10.0.0.4', true, []),
        ]),
      ],
      ['https://10.0.0.1:16443', 'https://10.0.0.2:7443'],
    ],
    [
      'kubernetes in another namespace is not it',
      [svc('other', 'kubernetes', [ep('10.0.0.1', true, [{ name: 'https', port: 6443 }])])],
      [],
    ],
  ])('%s', (_name, services, want) => {
    expect(serversFromNetworkState({ services })).toEqual(want);
  });
});

describe('ServerList', () => {
  it('starts at the first configured server, rotates through configured then learned ones, each origin once', () => {
    const l = new ServerList(['https://a:6443', 'https://b:6443/'], ['https://b:6443', 'https://c:6443']);
    expect(l.all()).toEqual(['https://a:6443', 'https://b:6443/', 'https://c:6443']);
    expect(l.current).toBe('https://a:6443');
    expect(l.advance()).toBe('https://b:6443/');
    expect(l.advance()).toBe('https://c:6443');
    expect(l.advance()).toBe('https://a:6443');
  });

  it('learn replaces the learned servers, says whether they changed, keeps configured ones and the current one', () => {
    const l = new ServerList(['https://a:6443']);
    expect(l.learn(['https://b:6443', 'https://c:6443'])).toBe(true);
    expect(l.learn(['https://b:6443', 'https://c:6443'])).toBe(false);
    l.use('https://c:6443');
    expect(l.current).toBe('https://c:6443');
    expect(l.learn(['https://b:6443'])).toBe(true);
    expect(l.all()).toEqual(['https://a:6443', 'https://b:6443']);
    // c is gone from the list: the next one after it is the first
    expect(l.current).toBe('https://c:6443');
    expect(l.advance()).toBe('https://a:6443');
    expect(l.learn([])).toBe(true);
    expect(l.advance()).toBe('https://a:6443');
  });

  it('use ignores a server it does not know; one server advances to itself', () => {
    const l = new ServerList(['https://a:6443']);
    l.use('https://evil:6443');
    expect(l.current).toBe('https://a:6443');
    expect(l.advance()).toBe('https://a:6443');
    expect(() => new ServerList([])).toThrow();
  });
});

describe('the learned servers kept in the data dir', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips (0600); a missing, broken or hostile file gives only well-formed https URLs', () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-servers-'));
    expect(loadLearnedServers(dir)).toEqual([]);
    saveLearnedServers(dir, ['https://10.0.0.1:6443', 'https://10.0.0.2:6443']);
    expect(loadLearnedServers(dir)).toEqual(['https://10.0.0.1:6443', 'https://10.0.0.2:6443']);
    expect(statSync(join(dir, 'servers.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'servers.json'), 'utf8')).toContain('10.0.0.2');
    writeFileSync(join(dir, 'servers.json'), '{not json');
    expect(loadLearnedServers(dir)).toEqual([]);
    writeFileSync(
      join(dir, 'servers.json'),
      JSON.stringify([
        'http://x:1',
        'https://ok:6443',
        42,
        'https://a b:1',
        ...Array.from({ length: 100 }, (_, i) => `https://h${i}:6443`),
      ]),
    );
    const got = loadLearnedServers(dir);
    expect(got[0]).toBe('https://ok:6443');
    expect(got).toHaveLength(32);
  });
});
