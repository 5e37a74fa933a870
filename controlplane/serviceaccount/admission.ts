// The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount/admission.go)
// on pod create: the account must exist, and unless automountServiceAccountToken is false
// (on the pod, else on the account) every container and init container mounts the
// projected kube-api-access-<5> volume (token, ca.crt, namespace) read-only at
// /var/run/secrets/kubernetes.io/serviceaccount; a pod without imagePullSecrets gets the
// account's.
// skiff-server installs it (installServiceAccountAdmission); stores built without it
// (most unit tests) admit pods as before.
import { randomInt } from 'node:crypto';
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import { isRecord } from '../resources/meta-validation.js';
import type { AdmissionContext } from '../resources/types.js';

export const VOLUME_PREFIX = 'kube-api-access-';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** the projected token's life: 3607 s, as Kubernetes' admission asks (kube-apiserver may extend such tokens with --service-account-extend-token-expiration; skiff does not) */
export const PROJECTED_TOKEN_SECONDS = 3607;
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
/** how long a pod naming `default` waits for the controller to create it in a new namespace */
const DEFAULT_SA_WAIT_MS = 3000;

type SaGetter = (namespace: string, name: string) => KubeObject | undefined;
let installed: { get: SaGetter } | undefined;

/** turn the plugin on for this process (skiff-server); `get` reads a cache, the store is the fallback */
export function installServiceAccountAdmission(get: SaGetter): () => void {
  const me = { get };
  installed = me;
  return () => {
    if (installed === me) installed = undefined;
  };
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[randomInt(ALPHANUMS.length)];
  return s;
}

export function apiAccessVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: PROJECTED_TOKEN_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
      defaultMode: 0o644,
    },
  };
}

export function shouldAutomount(sa: KubeObject, pod: KubeObject): boolean {
  const p = pod.spec?.automountServiceAccountToken;
  if (typeof p === 'boolean') return p;
  const s = (sa as { automountServiceAccountToken?: unknown }).automountServiceAccountToken;
  if (typeof s === 'boolean') return s;
  return true;
}

/** admission.go's mountServiceAccountToken */
export function mountServiceAccountToken(pod: KubeObject): void {
  const spec = pod.spec as Record<string, unknown>;
  const volumes = Array.isArray(spec.volumes) ? (spec.volumes as Record<string, unknown>[]) : [];
  let volumeName = '';
  for (const v of volumes) {
    if (isRecord(v) && typeof v.name === 'string' && v.name.startsWith(VOLUME_PREFIX)) {
      volumeName = v.name;
      break;
    }
  }
  const has = !!volumeName;
  if (!volumeName) volumeName = VOLUME_PREFIX + randomSuffix();
  let needs = false;
  for (const list of [spec.initContainers, spec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isRecord(c)) continue;
      const mounts = Array.isArray(c.volumeMounts) ? (c.volumeMounts as unknown[]) : [];
      if (mounts.some((m) => isRecord(m) && m.mountPath === TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
      needs = true;
    }
  }
  if (!has && needs) spec.volumes = [...volumes, apiAccessVolume(volumeName)];
}

async function findServiceAccount(
  get: SaGetter,
  ctx: AdmissionContext,
  ns: string,
  name: string,
): Promise<KubeObject | undefined> {
  const cached = get(ns, name);
  if (cached) return cached;
  // the cache may lag a write that just happened (kubectl create sa; kubectl run): ask the store
  const live = (await ctx.list('', 'v1', 'serviceaccounts')).find(
    (s) => s.metadata.namespace === ns && s.metadata.name === name,
  );
  if (live || name !== 'default') return live;
  // a brand-new namespace: the ServiceAccount controller creates `default` within moments
  const until = Date.now() + DEFAULT_SA_WAIT_MS;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    const s = get(ns, name);
    if (s) return s;
  }
  return undefined;
}

/** the pod ResourceDef's admit hook calls this on create */
export async function admitPodServiceAccount(pod: KubeObject, ctx: AdmissionContext): Promise<void> {
  const plugin = installed;
  if (!plugin) return;
  if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return;
  if (!isRecord(pod.spec)) return;
  const spec = pod.spec;
  if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
  const ns = pod.metadata.namespace!;
  const name = String(spec.serviceAccountName);
  const sa = await findServiceAccount(plugin.get, ctx, ns, name);
  if (!sa) {
    throw new ApiError(
      403,
      'Forbidden',
      `pods "${pod.metadata.name}" is forbidden: error looking up service account ${ns}/${name}: serviceaccount "${name}" not found`,
      { name: pod.metadata.name, kind: 'pods' },
    );
  }
  if (shouldAutomount(sa, pod)) mountServiceAccountToken(pod);
  // admission.go: a pod naming no imagePullSecrets gets the account's
  const saPullSecrets = (sa as { imagePullSecrets?: unknown }).imagePullSecrets;
  const podPullSecrets = spec.imagePullSecrets;
  if (
    (!Array.isArray(podPullSecrets) || podPullSecrets.length === 0) &&
    Array.isArray(saPullSecrets) &&
    saPullSecrets.length > 0
  ) {
    spec.imagePullSecrets = saPullSecrets
      .filter(isRecord)
      .map((r) => ({ name: typeof r.name === 'string' ? r.name : '' }));
  }
}
