// scripts/install.sh on a simulated host: the server installed in the host namespace
// (nohup fallback: no systemd here), an agent installed into host h1 (its netns and its
// dockerd) with the server's join token, the node Ready, a pod serving; then uninstall
// leaves no units, env files, pid files, daemons, containers, Docker network, chains or
// routes, and --purge removes the state. All paths point into a temp dir
// (SKIFF_CONFIG_DIR, …) so the test never touches a real installation.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, PAUSE, ROOT, freePort, kubectl, kubectlAvailable, type ServerProc } from './harness.js';
import {
  BRIDGE_IP,
  hostDocker,
  hostExec,
  hostsAvailable,
  hostsDown,
  hostsUp,
  rmrf,
  waitFor,
  type Host,
  HOSTS_HOOK_TIMEOUT_MS,
} from './hosts.js';

const INSTALL = join(ROOT, 'scripts', 'install.sh');
const enabled = hostsAvailable('install.sh e2e test') && kubectlAvailable();

describe.skipIf(!enabled)('scripts/install.sh on a simulated host', () => {
  let h1: Host;
  let tmp = '';
  let port = 0;
  let env: NodeJS.ProcessEnv = {};
  const p = (...s: string[]) => join(tmp, ...s);
  const install = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', env: { ...env, ...extra }, timeout: 180_000 });
    return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  };
  const pid = (name: string) => Number(readFileSync(p('run', `${name}.pid`), 'utf8').trim());
  const alive = (n: number) => {
    try {
      process.kill(n, 0);
      return true;
    } catch {
      return false;
    }
  };
  // harness.kubectl wants a ServerProc: only kubeconfig and dataDir (its cache) are used
  const kc = (args: string[]) =>
    kubectl({ kubeconfig: p('data', 'server', 'admin.kubeconfig'), dataDir: tmp } as ServerProc, args);
  const netns = (cmd: string[]) => spawnSync('nsenter', [`--net=/run/netns/${h1.netns}`, ...cmd], { encoding: 'utf8' });

  beforeAll(async () => {
    [h1] = (await hostsUp(1)) as [Host];
    tmp = mkdtempSync(join(tmpdir(), 'skiff-install-'));
    port = await freePort();
    env = {
      ...process.env,
      // run this checkout in place, as built; never rebuild the shared tree from a test
      SKIFF_INSTALL_DIR: ROOT,
      SKIFF_SKIP_BUILD: '1',
      SKIFF_NO_SYSTEMD: '1',
      SKIFF_CONFIG_DIR: p('etc'),
      SKIFF_DATA_DIR: p('data'),
      SKIFF_RUN_DIR: p('run'),
      SKIFF_LOG_DIR: p('log'),
      SKIFF_UNIT_DIR: p('units'),
    };
  }, HOSTS_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    // whatever happened: stop what install.sh started, then the hosts
    if (tmp) {
      const r = install(['uninstall', '--purge']);
      if (r.code !== 0) console.warn(`install.sh uninstall --purge in afterAll: ${r.out}`);
      for (const n of ['skiff-agent', 'skiff-server']) {
        try {
          process.kill(pid(n), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await hostsDown();
    if (tmp) rmrf(tmp);
  }, 240_000);

  it('installs a server (nohup fallback), idempotently, and prints the token and kubeconfig paths', () => {
    const serverEnv = { SKIFF_SERVER_ARGS: `--listen ${BRIDGE_IP}:${port} --log-level warn --node-grace-period 5s` };
    const r = install(['server'], serverEnv);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`join token:  ${p('data', 'server', 'token')}`);
    expect(r.out).toContain(`kubeconfig:  ${p('data', 'server', 'admin.kubeconfig')}`);
    expect(r.out).toContain('starting skiff-server with nohup');
    expect(readFileSync(p('data', 'server', 'admin.kubeconfig'), 'utf8')).toContain(
      `server: https://${BRIDGE_IP}:${port}`,
    );
    const first = pid('skiff-server');
    expect(alive(first)).toBe(true);
    const again = install(['server'], serverEnv);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('already running');
    expect(pid('skiff-server')).toBe(first);
    expect(existsSync(p('units', 'skiff-server.service'))).toBe(false); // no systemd: no unit
  }, 120_000);

  it('installs an agent into host h1 that joins with the token and runs a pod', async () => {
    const r = install(['agent', '--node-name', h1.name, '--', '--pause-image', PAUSE, '--heartbeat-interval', '1s'], {
      SKIFF_URL: `https://${BRIDGE_IP}:${port}`,
      SKIFF_TOKEN: readFileSync(p('data', 'server', 'token'), 'utf8').trim(),
      SKIFF_NODE_IP: h1.ip,
      SKIFF_NETNS: h1.netns,
      SKIFF_DOCKER_HOST: h1.dockerSocket,
    });
    expect(r.code, r.out).toBe(0);
    const agentPid = pid('skiff-agent');
    // the agent runs inside h1's network namespace
    expect(
      spawnSync('stat', ['-L', '-c', '%i', `/proc/${agentPid}/ns/net`, `/run/netns/${h1.netns}`], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .reduce((a, b) => (a === b ? a : 'differ')),
    ).not.toBe('differ');
    const envFile = readFileSync(p('etc', 'skiff-agent.env'), 'utf8');
    expect(envFile).toContain(`--node-ip ${h1.ip}`);
    expect(envFile).not.toContain('K10'); // the token lives in its own 0600 file, not in the flags
    await waitFor(
      () => {
        const n = kc([
          'get',
          'node',
          h1.name,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.addresses[?(@.type=="InternalIP")].address}',
        ]);
        if (n.stdout.trim() !== `True ${h1.ip}`) throw new Error(`${n.stdout}${n.stderr}`);
      },
      40_000,
      `node ${h1.name} Ready\n${readLog('skiff-agent')}`,
    );

    const run = kc([
      'run',
      'web',
      `--image=${BUSYBOX}`,
      '--restart=Never',
      '--',
      'httpd',
      '-f',
      '-p',
      '8080',
      '-h',
      '/var/www',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const ip = await waitFor(
      () => {
        const g = kc(['get', 'pod', 'web', '-o', 'jsonpath={.status.phase} {.status.podIP} {.spec.nodeName}']);
        const [phase, podIP, node] = g.stdout.trim().split(' ');
        if (phase !== 'Running' || !podIP) throw new Error(`${g.stdout}${g.stderr}`);
        expect(node).toBe(h1.name);
        return podIP;
      },
      40_000,
      'pod web Running',
    );
    // served from h1's dockerd, reachable from inside h1
    const got = await waitFor(
      () => {
        const w = hostExec(h1, ['timeout', '5', 'busybox', 'wget', '-qO-', `http://${ip}:8080/`]);
        if (w.status !== 0) throw new Error(w.stderr);
        return w.stdout;
      },
      15_000,
      'wget the pod from h1',
    );
    expect(got).toBe('hello from skiff\n');
    expect(
      hostDocker(h1, ['ps', '-q', '--filter', `label=io.skiff.node=${h1.name}`])
        .stdout.trim()
        .split('\n').length,
    ).toBe(2);
  }, 120_000);

  it('uninstall removes daemons, configuration, pods, the skiff network, chains and routes; --purge the state', () => {
    const agentPid = pid('skiff-agent');
    const serverPid = pid('skiff-server');
    // what the agent's networking made (pod bridge, chains), plus a host-gw route as an agent
    // with peers adds (h1 is alone here) and someone else's KUBE- chain, which must survive
    expect(hostDocker(h1, ['network', 'inspect', 'skiff']).status).toBe(0);
    const before = netns(['iptables-save']).stdout;
    for (const c of [':SKIFF-SERVICES', ':SKIFF-POSTROUTING', ':SKIFF-FORWARD', '-j SKIFF-SERVICES'])
      expect(before).toContain(c);
    for (const c of [
      ['ip', 'route', 'add', '10.42.7.0/24', 'via', BRIDGE_IP, 'proto', '200'],
      ['iptables', '-w', '-t', 'nat', '-N', 'KUBE-OTHER'],
    ]) {
      const r = netns(c);
      expect(r.status, `${c.join(' ')}: ${r.stderr}`).toBe(0);
    }

    const r = install(['uninstall']);
    expect(r.code, r.out).toBe(0);
    expect(alive(agentPid)).toBe(false);
    expect(alive(serverPid)).toBe(false);
    expect(existsSync(p('run', 'skiff-agent.pid')) || existsSync(p('run', 'skiff-server.pid'))).toBe(false);
    expect(existsSync(p('etc')) ? readdirSync(p('etc')) : []).toEqual([]);
    expect(existsSync(p('units')) ? readdirSync(p('units')) : []).toEqual([]);
    expect(hostDocker(h1, ['ps', '-aq']).stdout.trim()).toBe('');
    expect(hostDocker(h1, ['network', 'inspect', 'skiff']).status).not.toBe(0);
    const rules = netns(['iptables-save']).stdout;
    expect(rules).not.toMatch(/SKIFF-/);
    expect(rules).toContain(':KUBE-OTHER'); // not ours: left alone
    expect(rules).toMatch(/:DOCKER /); // Docker's own chains are left alone
    const routes = netns(['ip', '-4', 'route', 'show', 'root', '10.42.0.0/16']).stdout.trim();
    expect(routes).toBe('');
    expect(netns(['ip', '-4', 'route', 'show', 'default']).stdout).toContain(`via ${BRIDGE_IP}`);
    // the state stays without --purge
    expect(existsSync(p('data', 'server', 'token'))).toBe(true);

    const again = install(['uninstall']); // nothing left to do: still fine
    expect(again.code, again.out).toBe(0);
    const purge = install(['uninstall', '--purge']);
    expect(purge.code, purge.out).toBe(0);
    expect(existsSync(p('data', 'server'))).toBe(false);
    expect(existsSync(p('data', 'agent'))).toBe(false);
  }, 120_000);

  function readLog(name: string): string {
    try {
      return readFileSync(p('log', `${name}.log`), 'utf8')
        .split('\n')
        .slice(-30)
        .join('\n');
    } catch {
      return '';
    }
  }
});
