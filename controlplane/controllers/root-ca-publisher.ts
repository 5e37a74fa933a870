// The root CA publisher (pkg/controller/certificates/rootcacertpublisher): a ConfigMap
// kube-root-ca.crt with the cluster CA (key ca.crt) in every active namespace, put back
// when deleted or changed. Pods read it through their kube-api-access-* volume.
import type { ControllerContext } from './context.js';
import { namespaceObjectController } from './namespace-object.js';
import type { Controller } from './types.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
export function create(ctx: ControllerContext, caPem: string): Controller {
  const name = 'root-ca-cert-publisher';
  return namespaceObjectController(ctx, {
    name,
    group: '',
    plural: 'configmaps',
    objectName: ROOT_CA_CONFIGMAP,
    wakeOnAddUpdate: true,
    what: 'kube-root-ca.crt',
    async ensure(namespace, cur) {
      const def = ctx.def('', 'v1', 'configmaps');
      if (!cur) {
        await ctx.storage.create(
          def,
          namespace,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
            data: { 'ca.crt': caPem },
          },
          { fieldManager: name },
        );
        return;
      }
      const data = cur.data as Record<string, unknown> | undefined;
      if (
        data?.['ca.crt'] === caPem &&
        Object.keys(data).length === 1 &&
        cur.metadata.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION
      )
        return;
      await ctx.storage.guaranteedUpdate(def, namespace, ROOT_CA_CONFIGMAP, { fieldManager: name }, (o) => {
        o.data = { 'ca.crt': caPem };
        delete o.binaryData;
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION };
        return o;
      });
    },
  });
}
