// ingress-status-controller and other Ingress controllers: the status of an Ingress of another
// class, written by that class's controller, is left alone; skiff's own addresses are cleared
// when an Ingress moves from skiff's class to another.
import { expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { seedDefaultIngressClass } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { create as createStatusController } from '../../controlplane/controllers/ingress-status-controller.js';
import { startController, until } from './controller-harness.js';

const ing = (name: string, ingressClassName?: string): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'default' },
  spec: {
    ...(ingressClassName ? { ingressClassName } : {}),
    defaultBackend: { service: { name: 'web', port: { number: 80 } } },
  },
});

it("keeps another controller's status, clears skiff's when the class moves away", async () => {
  const h = await startController(createStatusController);
  try {
    const nodeDef = findResource('', 'v1', 'nodes')!;
    const ingDef = findResource('networking.k8s.io', 'v1', 'ingresses')!;
    await seedDefaultIngressClass(h.storage);
    await h.storage.create(
      nodeDef,
      undefined,
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} },
      {},
    );
    await h.storage.guaranteedUpdate(
      nodeDef,
      undefined,
      'n1',
      {},
      (cur) => ({
        ...cur,
        status: {
          addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      }),
      'status',
    );
    // "another controller" (ingress-nginx) publishes its load balancer's address
    await h.storage.create(ingDef, 'default', ing('theirs', 'nginx'), {});
    await h.storage.guaranteedUpdate(
      ingDef,
      'default',
      'theirs',
      { fieldManager: 'nginx-ingress-controller' },
      (cur) => ({ ...cur, status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } }),
      'status',
    );
    // an own Ingress gets the node's address, then moves to nginx's class
    await h.storage.create(ingDef, 'default', ing('moved'), {});
    await until(
      'own status',
      async () =>
        (await h.storage.get(ingDef, 'default', 'moved')).status?.loadBalancer?.ingress?.[0]?.ip === '192.168.1.10',
    );
    await h.storage.guaranteedUpdate(ingDef, 'default', 'moved', {}, (cur) => ({
      ...cur,
      spec: { ...cur.spec, ingressClassName: 'nginx' },
    }));
    await until(
      'moved cleared',
      async () => (await h.storage.get(ingDef, 'default', 'moved')).status?.loadBalancer?.ingress === undefined,
    );
    // the moved one was synced after "theirs" was written: theirs is still there
    expect((await h.storage.get(ingDef, 'default', 'theirs')).status?.loadBalancer?.ingress).toEqual([
      { ip: '203.0.113.7' },
    ]);
  } finally {
    await h.stop();
  }
});
