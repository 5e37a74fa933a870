// Kept-alive connections with 60 KB bodies against the real skiff-server process (issue 10
// item 4): the real kubectl's `apply --server-side` of 30 ConfigMaps of 60 KB, three times
// over with new content, and @kubernetes/client-node sending 200 60 KB updates through ONE
// kept-alive connection. Before the fix 4-6 of kubectl's 30 failed ("Unable to connect to
// the server: EOF") and ~40 % of the client's requests were reset.
import { Agent } from 'node:https';
import type { Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const BIG = 60 * 1024;

describe.skipIf(!kubectlAvailable())('kept-alive connections with 60 KB bodies', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  it('kubectl apply --server-side of 30 ConfigMaps of 60 KB: every one applied, three rounds', () => {
    for (let round = 0; round < 3; round++) {
      const docs = Array.from(
        { length: 30 },
        (_, i) =>
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ka-${i}\ndata:\n  round: "${round}"\n  big: ${'abc'[round]!.repeat(BIG)}\n`,
      );
      const r = kubectl(s, ['apply', '--server-side', '-f', '-'], { input: docs.join('---\n'), timeoutMs: 60_000 });
      expect(r.stderr).not.toMatch(/EOF|connection reset|Unable to connect/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.match(/serverside-applied/g)).toHaveLength(30);
    }
    const got = kubectl(s, [
      'get',
      'configmaps',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.data.round}{"\\n"}{end}',
    ]);
    expect(got.stdout.split('\n').filter((l) => l.startsWith('ka-') && l.endsWith('=2'))).toHaveLength(30);
  });

  it('@kubernetes/client-node: 200 updates of 60 KB over one kept-alive connection, none failed', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: s.caPem });
    const sockets = new Set<Socket>();
    agent.on('free', (sock: Socket) => sockets.add(sock));
    // client-node makes a new agent per request; this one keeps one connection for all
    const apply = kc.applySecurityAuthentication.bind(kc);
    kc.applySecurityAuthentication = async (ctx) => {
      await apply(ctx);
      ctx.setAgent(agent);
    };
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 10; i++)
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: `cn-ka-${i}` }, data: { n: '0' } },
      });
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        core.replaceNamespacedConfigMap({
          namespace: 'default',
          name: `cn-ka-${i % 10}`,
          body: { metadata: { name: `cn-ka-${i % 10}` }, data: { n: String(i), big: 'z'.repeat(BIG) } },
        }),
      ),
    );
    agent.destroy();
    const failed = results
      .filter((r) => r.status === 'rejected')
      .map((r) => String((r as PromiseRejectedResult).reason).slice(0, 200));
    expect(failed).toEqual([]);
    expect(sockets.size).toBe(1);
  });
});
