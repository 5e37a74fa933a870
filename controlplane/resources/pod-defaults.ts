// PodSpec defaulting as k8s.io/kubernetes pkg/apis/core/v1/defaults.go (v1.32) applies it
// on every decode: to Pods and to the pod templates of workloads alike. Pod-only
// defaults (SetDefaults_Pod and the admission plugins) live in defaultPodOnly.
import { setOwn } from '../../proto/canonical.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '../../proto/api/taints.js';
import type {
  Container,
  DownwardAPIVolumeFile,
  LifecycleHandler,
  PodSpec,
  Probe,
  Toleration,
  Volume,
} from '../../proto/api/types.gen.js';
import { isDecoded, isJsonObject, type Decoded } from './meta-validation.js';

const DEFAULT_MODE = 0o644; // 420: secret/configMap/downwardAPI/projected volumes

export function defaultPodSpec(spec: unknown): void {
  if (!isDecoded<PodSpec>(spec)) return;
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.securityContext === undefined || spec.securityContext === null) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null)
    spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  // v1 conversion keeps the deprecated serviceAccount alias in step with serviceAccountName.
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const list of [spec.containers, spec.initContainers, spec.ephemeralContainers]) {
    if (Array.isArray(list)) for (const c of list) defaultContainer(c);
  }
  if (Array.isArray(spec.volumes)) for (const v of spec.volumes) defaultVolume(v);
}

/** Defaults only a Pod gets (not templates): SetDefaults_Pod, Priority and SA admission. */
export function defaultPodOnly(spec: unknown): void {
  if (!isDecoded<PodSpec>(spec)) return;
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isJsonObject(c)) continue;
      // Requests default to limits when only limits are set (a Pod, never a template).
      const res = c.resources;
      if (isJsonObject(res) && isJsonObject(res.limits)) {
        if (!isJsonObject(res.requests)) res.requests = {};
        for (const [k, v] of Object.entries(res.limits))
          if (!Object.hasOwn(res.requests, k)) setOwn(res.requests, k, v);
      }
      if (spec.hostNetwork === true && Array.isArray(c.ports)) {
        for (const p of c.ports) if (isJsonObject(p) && !p.hostPort) p.hostPort = p.containerPort;
      }
    }
  }
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  if (spec.priority === undefined || spec.priority === null) spec.priority = 0;
  if (!spec.preemptionPolicy) spec.preemptionPolicy = 'PreemptLowerPriority';
  if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
}

/** Image tag as ParseImageName reads it: "latest" when neither tag nor digest is given. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) return ref.slice(colon + 1);
  return at >= 0 ? '' : 'latest';
}

export function defaultContainer(c: unknown): void {
  if (!isDecoded<Container>(c)) return;
  if (!c.imagePullPolicy) {
    const image = typeof c.image === 'string' ? c.image : '';
    c.imagePullPolicy = image && imageTag(image) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  if (c.resources === undefined || c.resources === null) c.resources = {};
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isJsonObject(p) && !p.protocol) p.protocol = 'TCP';
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) defaultProbe(probe);
  if (isJsonObject(c.lifecycle)) {
    for (const h of [c.lifecycle.postStart, c.lifecycle.preStop]) if (isJsonObject(h)) defaultHandler(h);
  }
  if (Array.isArray(c.env)) {
    for (const e of c.env) {
      const vf = isJsonObject(e) ? e.valueFrom : undefined;
      if (!isJsonObject(vf)) continue;
      if (isJsonObject(vf.fieldRef) && !vf.fieldRef.apiVersion) vf.fieldRef.apiVersion = 'v1';
      if (isJsonObject(vf.resourceFieldRef) && vf.resourceFieldRef.divisor === undefined)
        vf.resourceFieldRef.divisor = '0';
    }
  }
}

/** a probe's or a lifecycle hook's handler */
function defaultHandler(h: Decoded<Probe & LifecycleHandler>): void {
  if (isJsonObject(h.httpGet)) {
    if (!h.httpGet.path) h.httpGet.path = '/';
    if (!h.httpGet.scheme) h.httpGet.scheme = 'HTTP';
  }
  if (isJsonObject(h.grpc) && (h.grpc.service === undefined || h.grpc.service === null)) h.grpc.service = '';
}

function defaultProbe(p: Decoded<Probe> | null | undefined): void {
  if (!isJsonObject(p)) return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHandler(p);
}

function defaultItems(items: DownwardAPIVolumeFile[] | null | undefined): void {
  if (!Array.isArray(items)) return;
  for (const it of items)
    if (isJsonObject(it) && isJsonObject(it.fieldRef) && !it.fieldRef.apiVersion) it.fieldRef.apiVersion = 'v1';
}

export function defaultVolume(v: unknown): void {
  if (!isDecoded<Volume>(v)) return;
  const fields: Record<string, unknown> = v;
  const sources = Object.keys(fields).filter((k) => k !== 'name' && fields[k] !== null && fields[k] !== undefined);
  if (sources.length === 0) v.emptyDir = {};
  if (isJsonObject(v.secret) && v.secret.defaultMode === undefined) v.secret.defaultMode = DEFAULT_MODE;
  if (isJsonObject(v.configMap) && v.configMap.defaultMode === undefined) v.configMap.defaultMode = DEFAULT_MODE;
  if (isJsonObject(v.downwardAPI)) {
    if (v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = DEFAULT_MODE;
    defaultItems(v.downwardAPI.items);
  }
  if (isJsonObject(v.projected)) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = DEFAULT_MODE;
    for (const s of Array.isArray(v.projected.sources) ? v.projected.sources : []) {
      if (!isJsonObject(s)) continue;
      if (isJsonObject(s.serviceAccountToken) && !s.serviceAccountToken.expirationSeconds)
        s.serviceAccountToken.expirationSeconds = 3600;
      if (isJsonObject(s.downwardAPI)) defaultItems(s.downwardAPI.items);
    }
  }
  if (isJsonObject(v.hostPath) && v.hostPath.type === undefined) v.hostPath.type = '';
  if (isJsonObject(v.iscsi) && !v.iscsi.iscsiInterface) v.iscsi.iscsiInterface = 'default';
  if (isJsonObject(v.rbd)) {
    if (!v.rbd.pool) v.rbd.pool = 'rbd';
    if (!v.rbd.user) v.rbd.user = 'admin';
    if (!v.rbd.keyring) v.rbd.keyring = '/etc/ceph/keyring';
  }
}

/**
 * DefaultTolerationSeconds admission: tolerate not-ready/unreachable NoExecute for a while.
 * Kubernetes uses 300 s; skiff defaults to 10 s so pods leave a dead node fast
 * (skiff-server --default-unreachable-toleration-seconds).
 */
export const defaultTolerationSeconds = { notReady: 10, unreachable: 10 };

export function addDefaultTolerations(spec: unknown): void {
  if (!isDecoded<PodSpec>(spec)) return;
  const tolerations: Toleration[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  const tolerates = (key: string): boolean =>
    tolerations.some((t) => isJsonObject(t) && (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));
  const add: Toleration[] = [];
  const seconds: Record<string, number> = {
    [TAINT_NOT_READY]: defaultTolerationSeconds.notReady,
    [TAINT_UNREACHABLE]: defaultTolerationSeconds.unreachable,
  };
  for (const key of Object.keys(seconds)) {
    if (!tolerates(key)) add.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds[key] });
  }
  if (add.length > 0) spec.tolerations = [...tolerations, ...add];
}
