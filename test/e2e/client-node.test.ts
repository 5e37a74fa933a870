// A Kubernetes client library (not kubectl) against skiff-server: @kubernetes/client-node
// typed calls and an informer (list + watch), over TLS with the generated kubeconfig.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectlAvailable, startServer, type ServerProc } from './harness.js';

describe.skipIf(!kubectlAvailable())('@kubernetes/client-node against skiff-server', () => {
  let s: ServerProc;
  let kc: k8s.KubeConfig;
  beforeAll(async () => {
    s = await startServer();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  it('creates, reads and lists through the typed clients', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'cn-1', labels: { app: 'cn' } }, data: { k: 'v' } },
    });
    const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'cn-1' });
    expect(cm.data).toEqual({ k: 'v' });
    const d = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox' }] } },
        },
      },
    });
    expect(d.spec?.replicas).toBe(1);
    expect(d.spec?.template.spec?.containers[0]?.imagePullPolicy).toBe('Always');
    const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=cn' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['cn-1']);
    await expect(core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('an informer lists, then sees adds, updates and deletes', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    const seen: string[] = [];
    informer.on('add', (o: k8s.V1ConfigMap) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o: k8s.V1ConfigMap) => seen.push(`update:${o.metadata?.name}:${o.data?.n}`));
    informer.on('delete', (o: k8s.V1ConfigMap) => seen.push(`delete:${o.metadata?.name}`));
    informer.on('error', () => {
      /* restarts itself */
    });
    await informer.start();
    try {
      await eventually(() => expect(seen).toContain('add:cn-1'));
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'inf-1' }, data: { n: '1' } },
      });
      await core.patchNamespacedConfigMap(
        { namespace: 'default', name: 'inf-1', body: { data: { n: '2' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'inf-1' });
      await eventually(() =>
        expect(seen.filter((e) => e.includes('inf-1'))).toEqual(['add:inf-1', 'update:inf-1:2', 'delete:inf-1']),
      );
      expect(informer.list('default').map((o) => o.metadata?.name)).not.toContain('inf-1');
    } finally {
      await informer.stop();
    }
  });
});
