// Self-labels (issue 10, item 7): an agent may set on its Node only what NodeRestriction
// lets a kubelet set; kubernetes.io/hostname only as its own name.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../agent/config.js';
import { CloseCode } from '../../proto/agent-protocol.js';
import { forbiddenNodeLabels, isKubeletLabel, nodeLabelsError } from '../../proto/node-labels.js';
import { newCredential, nodeDef, register, startGateway, type GatewayHarness } from './agent-harness.js';

describe('forbiddenNodeLabels (NodeRestriction)', () => {
  it.each([
    // outside kubernetes.io / k8s.io: anything
    ['disk', 'ssd', true],
    ['example.com/rack', 'r1', true],
    ['kubernetes.io.example.com/x', 'y', true],
    ['notkubernetes.io/x', 'y', true],
    // the well-known kubelet labels
    ['kubernetes.io/hostname', 'n1', true],
    ['kubernetes.io/os', 'linux', true],
    ['kubernetes.io/arch', 'arm64', true],
    ['beta.kubernetes.io/os', 'linux', true],
    ['beta.kubernetes.io/arch', 'amd64', true],
    ['beta.kubernetes.io/instance-type', 'm5', true],
    ['node.kubernetes.io/instance-type', 'm5', true],
    ['topology.kubernetes.io/zone', 'z1', true],
    ['topology.kubernetes.io/region', 'r1', true],
    ['failure-domain.beta.kubernetes.io/zone', 'z1', true],
    ['failure-domain.beta.kubernetes.io/region', 'r1', true],
    // the allowed namespaces, with subdomains
    ['kubelet.kubernetes.io/anything', 'x', true],
    ['foo.kubelet.kubernetes.io/anything', 'x', true],
    ['node.kubernetes.io/exclude-from-external-load-balancers', '', true],
    ['a.b.node.kubernetes.io/x', 'y', true],
    // hostname must be the node's own
    ['kubernetes.io/hostname', 'victim', false],
    // everything else in kubernetes.io / k8s.io
    ['node-role.kubernetes.io/control-plane', '', false],
    ['node-role.kubernetes.io/worker', 'true', false],
    ['node-restriction.kubernetes.io/trusted', 'yes', false],
    ['foo.node-restriction.kubernetes.io/trusted', 'yes', false],
    ['kubernetes.io/role', 'master', false],
    ['kubernetes.io/instance-type', 'm5', false],
    ['beta.kubernetes.io/fluentd-ds-ready', 'true', false],
    ['topology.kubernetes.io/other', 'x', false],
    ['k8s.io/x', 'y', false],
    ['example.k8s.io/x', 'y', false],
    ['node.k8s.io/x', 'y', false],
  ])('%s=%s allowed: %s', (key, value, allowed) => {
    expect(forbiddenNodeLabels({ [key]: value }, 'n1')).toEqual(allowed ? [] : [key]);
  });

  it('lists every forbidden key, sorted', () => {
    expect(
      forbiddenNodeLabels(
        { 'z.k8s.io/a': '', ok: '1', 'kubernetes.io/hostname': 'x', 'node-role.kubernetes.io/master': '' },
        'n1',
      ),
    ).toEqual(['kubernetes.io/hostname', 'node-role.kubernetes.io/master', 'z.k8s.io/a']);
  });

  it("isKubeletLabel follows kubelet's list", () => {
    expect(isKubeletLabel('kubernetes.io/hostname')).toBe(true);
    expect(isKubeletLabel('node-role.kubernetes.io/x')).toBe(false);
  });

  it("explains in kubelet's words", () => {
    expect(nodeLabelsError({ disk: 'ssd' }, 'n1')).toBeUndefined();
    const e = nodeLabelsError({ 'node-role.kubernetes.io/worker': '' }, 'n1')!;
    expect(e).toContain(
      "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-role.kubernetes.io/worker]",
    );
    expect(e).toContain('allowed prefix (kubelet.kubernetes.io, node.kubernetes.io)');
    expect(nodeLabelsError({ 'kubernetes.io/hostname': 'other' }, 'n1')).toContain('must be the node\'s own name "n1"');
  });
});

describe('skiff-agent --node-labels', () => {
  const base = ['--server', 'https://127.0.0.1:6443', '--token', 't', '--node-name', 'n1'];
  it('refuses at start-up a label NodeRestriction forbids', () => {
    expect(() => parseAgentArgs([...base, '--node-labels', 'node-role.kubernetes.io/worker=true'])).toThrow(
      /node-role.kubernetes.io\/worker/,
    );
    expect(() => parseAgentArgs([...base, '--node-labels', 'kubernetes.io/hostname=other'])).toThrow(/own name/);
  });
  it('accepts the allowed ones', () => {
    expect(
      parseAgentArgs([...base, '--node-labels', 'disk=ssd,topology.kubernetes.io/zone=z1,kubernetes.io/hostname=n1'])
        .nodeLabels,
    ).toEqual({ disk: 'ssd', 'topology.kubernetes.io/zone': 'z1', 'kubernetes.io/hostname': 'n1' });
  });
});

describe('register with labels at the gateway', () => {
  let h: GatewayHarness;
  beforeEach(async () => {
    h = await startGateway();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('refuses a register that labels itself as another node, and writes nothing', async () => {
    const r = await register(h.port, 'thief', newCredential(), { labels: { 'kubernetes.io/hostname': 'victim' } });
    expect(r.first.type).toBe('error');
    expect(r.first.message).toContain(
      'node "thief" is not allowed to set the following labels: kubernetes.io/hostname',
    );
    expect((await r.agent.closed).code).toBe(CloseCode.forbidden);
    expect(await h.storage.tryGet(nodeDef, undefined, 'thief')).toBeUndefined();
  });

  it('refuses node-role and node-restriction labels', async () => {
    const r = await register(h.port, 'n2', newCredential(), {
      labels: { 'node-role.kubernetes.io/control-plane': '', 'node-restriction.kubernetes.io/pci': 'yes' },
    });
    expect(r.first.message).toContain('node-restriction.kubernetes.io/pci');
    expect(r.first.message).toContain('node-role.kubernetes.io/control-plane');
    expect(await h.storage.tryGet(nodeDef, undefined, 'n2')).toBeUndefined();
  });

  it("sets the allowed ones, and kubernetes.io/hostname is always the node's own name", async () => {
    const r = await register(h.port, 'n3', newCredential(), {
      labels: { disk: 'ssd', 'topology.kubernetes.io/zone': 'z1' },
    });
    expect(r.first.type).toBe('registered');
    const labels = (await h.storage.tryGet(nodeDef, undefined, 'n3'))!.metadata.labels;
    expect(labels).toMatchObject({ disk: 'ssd', 'topology.kubernetes.io/zone': 'z1', 'kubernetes.io/hostname': 'n3' });
    await r.agent.close();
  });
});
