// The official JavaScript client in a pod, for the node-client test image: bundled with
// @kubernetes/client-node by scripts/build-test-images.sh into
// /usr/local/lib/client-node-list.cjs. KubeConfig.loadFromCluster() is what in-cluster
// programs use (token file, ca.crt, KUBERNETES_SERVICE_HOST/PORT); this lists the pods of
// a namespace with CoreV1Api.
//
//   node /usr/local/lib/client-node-list.cjs NAMESPACE
//
// Prints `HTTP <status>` then a JSON body (the pod list's names, or the API's Status);
// exit 0 on any HTTP answer, 2 when none came.
import * as k8s from '@kubernetes/client-node';

const namespace = process.argv[2];
if (!namespace) {
  process.stderr.write('usage: client-node-list.cjs NAMESPACE\n');
  process.exit(1);
}

async function main() {
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster();
  const api = kc.makeApiClient(k8s.CoreV1Api);
  try {
    const list = await api.listNamespacedPod({ namespace });
    process.stdout.write(
      `HTTP 200\n${JSON.stringify({ items: list.items.map((p) => ({ metadata: { name: p.metadata?.name } })) })}\n`,
    );
  } catch (e) {
    if (!(e instanceof k8s.ApiException)) throw e;
    process.stdout.write(`HTTP ${e.code}\n${typeof e.body === 'string' ? e.body : JSON.stringify(e.body)}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`client-node-list: ${e?.cause?.code ?? e?.code ?? ''} ${e?.message ?? e}\n`);
  process.exit(2);
});
