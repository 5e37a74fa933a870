// The gateway checks an agent's reported pod status against the PodStatus schema before it
// writes it (controlplane/agents/pod-status-check.ts): a malformed status gets an error
// reply and the stored pod stays as it was; a well-formed one is written.
import { afterEach, describe, expect, it } from 'vitest';
import { checkReportedPodStatus } from '../../controlplane/agents/pod-status-check.js';
import { ApiError } from '../../controlplane/api/errors.js';
import {
  type GatewayHarness,
  type TestAgent,
  newCredential,
  podDef,
  register,
  startGateway,
  until,
} from './agent-harness.js';

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function registered(g: GatewayHarness, name: string): Promise<TestAgent> {
  const r = await register(g.port, name, newCredential());
  expect(r.first.type).toBe('registered');
  expect((await r.agent.next()).type).toBe('pods');
  return r.agent;
}

async function podOn(
  g: GatewayHarness,
  agent: TestAgent,
  node: string,
): Promise<{ namespace: string; name: string; uid: string }> {
  const pod = await g.storage.create(podDef, 'default', {
    metadata: { name: 'p' },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
  });
  expect((await agent.next()).type).toBe('podUpsert');
  return { namespace: 'default', name: 'p', uid: pod.metadata.uid! };
}

describe('checkReportedPodStatus', () => {
  const bad: [string, unknown][] = [
    ['a phase that is not a string', { phase: 7 }],
    ['conditions that are not a list', { conditions: 'Ready' }],
    ['a condition status that is not a string', { conditions: [{ type: 'Ready', status: true }] }],
    [
      'a restartCount that is not an integer',
      { containerStatuses: [{ name: 'c', ready: true, restartCount: 'x', image: 'i', imageID: '' }] },
    ],
    [
      'a restartCount past int32',
      { containerStatuses: [{ name: 'c', ready: true, restartCount: 2 ** 31, image: 'i', imageID: '' }] },
    ],
    ['podIPs entries that are not objects', { podIPs: ['10.0.0.1'] }],
    ['a list instead of an object', []],
  ];
  it.each(bad)('refuses %s with a 400', (_what, status) => {
    let err: unknown;
    try {
      checkReportedPodStatus(podDef, status);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(400);
  });

  it('passes a well-formed status through, unknown fields dropped and reported', () => {
    const warnings: string[] = [];
    const status = { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }], bogus: 1 };
    const out = checkReportedPodStatus(podDef, status, warnings);
    expect(out).toEqual({ phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] });
    expect(warnings).toEqual(['unknown field "status.bogus"']);
    expect(status.bogus).toBe(1); // the agent's message is not changed
  });
});

describe("the gateway and an agent's pod status", () => {
  it('a malformed status is refused with an error reply and the stored pod is unchanged', async () => {
    h = await startGateway();
    const agent = await registered(h, 'n1');
    const ref = await podOn(h, agent, 'n1');
    const before = await h.storage.get(podDef, 'default', 'p');
    agent.send({
      type: 'podStatus',
      pod: ref,
      status: {
        phase: 'Running',
        containerStatuses: [{ name: 'c', ready: 'yes', restartCount: 0, image: 'busybox', imageID: '' }],
      },
    });
    const reply = await agent.next();
    expect(reply.type).toBe('error');
    expect(reply.message).toMatch(/^podStatus: .*cannot be handled as a Pod/);
    const after = await h.storage.get(podDef, 'default', 'p');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.status).toEqual(before.status);
    await agent.close();
  });

  it('a well-formed status is written', async () => {
    h = await startGateway();
    const agent = await registered(h, 'n1');
    const ref = await podOn(h, agent, 'n1');
    agent.send({
      type: 'podStatus',
      pod: ref,
      status: {
        phase: 'Running',
        podIP: '10.0.0.7',
        containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'busybox', imageID: '' }],
      },
    });
    const pod = await until('the status written', async () => {
      const p = await h!.storage.get(podDef, 'default', 'p');
      return p.status?.phase === 'Running' ? p : undefined;
    });
    expect(pod.status?.podIP).toBe('10.0.0.7');
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'c', ready: true, restartCount: 0 });
    await agent.close();
  });
});
