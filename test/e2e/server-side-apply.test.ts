// Server-side apply and managedFields through the real kubectl 1.32, server only:
// `kubectl apply --server-side` by two field managers (the conflict error, --force-conflicts
// taking the field), `kubectl get --show-managed-fields` showing both, a field dropped from
// the applied manifest removed (and kept while another manager owns it), `kubectl scale`
// then re-apply (the scale subresource's manager conflicts), kubectl create / label entries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
}

const deployment = (replicas: number, labels: Record<string, string> = {}) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web', ...labels } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] },
      },
    },
  });

describe('server-side apply with kubectl', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
  });

  const entries = (what: string[]): Entry[] =>
    JSON.parse(k(s, ['get', ...what, '-o', 'json', '--show-managed-fields'])).metadata.managedFields;

  it('needs kubectl', () => expect(kubectlAvailable()).toBe(true));

  it('conflicts between two appliers; --force-conflicts takes the field; both managers are shown', () => {
    expect(k(s, ['apply', '--server-side', '--field-manager=a', '-f', '-'], deployment(2))).toContain(
      'deployment.apps/web serverside-applied',
    );
    const clash = kubectl(s, ['apply', '--server-side', '--field-manager=b', '-f', '-'], { input: deployment(3) });
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain('Apply failed with 1 conflict: conflict with "a": .spec.replicas');
    expect(clash.stderr).toContain('--force-conflicts');
    expect(k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');

    expect(
      k(s, ['apply', '--server-side', '--field-manager=b', '--force-conflicts', '-f', '-'], deployment(3)),
    ).toContain('serverside-applied');
    expect(k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('3');

    const yaml = k(s, ['get', 'deploy', 'web', '-o', 'yaml', '--show-managed-fields']);
    expect(yaml).toContain('manager: a');
    expect(yaml).toContain('manager: b');
    expect(yaml).toContain('operation: Apply');
    expect(yaml).toContain('k:{"containerPort":80,"protocol":"TCP"}:');
    expect(k(s, ['get', 'deploy', 'web', '-o', 'yaml'])).not.toContain('managedFields');
    const mf = entries(['deploy', 'web']);
    const a = mf.find((e) => e.manager === 'a')!;
    const b = mf.find((e) => e.manager === 'b')!;
    expect(a).toMatchObject({ operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(JSON.stringify(a.fieldsV1)).not.toContain('f:replicas');
    expect((b.fieldsV1['f:spec'] as Record<string, unknown>)['f:replicas']).toEqual({});
  }, 90_000);

  it('a field dropped from the applied manifest is removed unless another manager owns it', () => {
    k(s, ['apply', '--server-side', '--field-manager=b', '-f', '-'], deployment(3, { tier: 'front', team: 'x' }));
    // kubectl label is an Update by its own manager: it now owns team too
    k(s, ['label', 'deploy', 'web', 'team=y', '--overwrite']);
    k(s, ['apply', '--server-side', '--field-manager=b', '-f', '-'], deployment(3));
    const labels = JSON.parse(k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.labels}']));
    expect(labels).toEqual({ app: 'web', team: 'y' });
    const label = entries(['deploy', 'web']).find((e) => e.manager === 'kubectl-label')!;
    expect(label).toMatchObject({ operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } } } });
  }, 90_000);

  it('kubectl scale owns replicas through the scale subresource; re-applying conflicts until forced', () => {
    expect(k(s, ['scale', 'deploy', 'web', '--replicas=5'])).toContain('scaled');
    const scale = entries(['deploy', 'web']).find((e) => e.subresource === 'scale')!;
    expect(scale).toMatchObject({
      manager: 'kubectl',
      operation: 'Update',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    });
    const again = kubectl(s, ['apply', '--server-side', '--field-manager=b', '-f', '-'], { input: deployment(3) });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );
    k(s, ['apply', '--server-side', '--field-manager=b', '--force-conflicts', '-f', '-'], deployment(3));
    expect(k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('3');
    expect(entries(['deploy', 'web']).some((e) => e.subresource === 'scale')).toBe(false);
  }, 90_000);

  it('kubectl create records an Update by kubectl-create; managedFields: [] resets them', () => {
    k(s, ['create', 'configmap', 'c1', '--from-literal=a=b']);
    expect(entries(['cm', 'c1'])).toEqual([
      expect.objectContaining({
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { '.': {}, 'f:a': {} } },
      }),
    ]);
    k(s, ['patch', 'cm', 'c1', '--type=merge', '-p', '{"metadata":{"managedFields":[]}}']);
    expect(
      JSON.parse(k(s, ['get', 'cm', 'c1', '-o', 'json', '--show-managed-fields'])).metadata.managedFields,
    ).toBeUndefined();
  }, 60_000);
});
