// The Ingress part of the network state pushed to agents (agent/ingress/ serves it): the
// Ingresses of skiff's class and the TLS key pairs they name. Absent while no such Ingress
// exists, so a cluster without Ingresses pays nothing.
//
// Which Ingresses are skiff's: spec.ingressClassName (or the legacy kubernetes.io/ingress.class
// annotation) names an IngressClass whose spec.controller is skiff.io/ingress; an Ingress with
// neither belongs to the default class (the newest annotated default) when that class is ours.
//
// Which Secrets reach agents (the node authorizer's rule for the ingress controller, which
// runs on every node): a Secret is sent to every agent only while it is (1) of type
// kubernetes.io/tls, (2) in the namespace of an Ingress of skiff's class, and (3) named in
// that Ingress' spec.tls[].secretName. Any other Secret — another type, another namespace,
// one only an Ingress of another class names — is never sent; agents still read the Secrets
// of their own pods only through getObject.
import type { KubeObject } from '../../proto/meta.js';
import { NetIngress, NetIngressCert } from '../../proto/agent-protocol.js';
import { defaultIngressClass, SKIFF_INGRESS_CONTROLLER } from '../resources/ingress-class.js';
import { INGRESS_CLASS_ANNOTATION } from '../resources/ingress.js';

type IngressPart = { ingresses?: NetIngress[]; ingressCerts?: NetIngressCert[] };
type Backend = NonNullable<NetIngress['defaultBackend']>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(rec) : []);

/** the class an Ingress asks for, or undefined for "the default class" */
export function ingressClassOf(ing: KubeObject): string | undefined {
  const byField = ing.spec?.ingressClassName;
  if (typeof byField === 'string') return byField;
  const byAnnotation = ing.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
  return typeof byAnnotation === 'string' ? byAnnotation : undefined;
}

/** the Ingresses skiff's agents serve */
export function ownIngresses(ingresses: KubeObject[], classes: KubeObject[]): KubeObject[] {
  const ours = new Set(
    classes.filter((c) => c.spec?.controller === SKIFF_INGRESS_CONTROLLER).map((c) => c.metadata.name!),
  );
  const def = defaultIngressClass(classes);
  const defaultIsOurs = def !== undefined && ours.has(def.metadata.name!);
  return ingresses.filter((i) => {
    if (i.metadata.deletionTimestamp) return false;
    const cls = ingressClassOf(i);
    return cls === undefined ? defaultIsOurs : ours.has(cls);
  });
}

function backend(b: unknown): Backend | undefined {
  const svc = (b as { service?: { name?: unknown; port?: { name?: unknown; number?: unknown } } } | undefined)?.service;
  if (!svc || typeof svc.name !== 'string') return undefined;
  const port = typeof svc.port?.number === 'number' && svc.port.number > 0 ? svc.port.number : str(svc.port?.name);
  if (port === '') return undefined;
  return { service: svc.name, port };
}

export function ingressEntry(ing: KubeObject): NetIngress {
  const spec = ing.spec ?? {};
  const def = backend(spec.defaultBackend);
  const tls = list(spec.tls).map((t) => ({
    hosts: (Array.isArray(t.hosts) ? t.hosts : []).filter((h): h is string => typeof h === 'string'),
    ...(str(t.secretName) ? { secretName: str(t.secretName) } : {}),
  }));
  return {
    namespace: ing.metadata.namespace!,
    name: ing.metadata.name!,
    ...(def ? { defaultBackend: def } : {}),
    rules: list(spec.rules).map((r) => ({
      ...(str(r.host) ? { host: str(r.host) } : {}),
      paths: list(rec(r.http).paths).flatMap((p) => {
        const b = backend(p.backend);
        const pathType = str(p.pathType);
        if (!b || !['Exact', 'Prefix', 'ImplementationSpecific'].includes(pathType)) return []; // resource backends: nothing to proxy to
        return [{ path: str(p.path), pathType: pathType as 'Exact', backend: b }];
      }),
    })),
    ...(tls.length ? { tls } : {}),
  };
}

/** the Secrets an agent may get under the rule above, PEM-decoded */
export function ingressCerts(
  own: KubeObject[],
  secrets: (namespace: string, name: string) => KubeObject | undefined,
): NetIngressCert[] {
  const out = new Map<string, NetIngressCert>();
  for (const ing of own) {
    for (const t of list(ing.spec?.tls)) {
      const name = str(t.secretName);
      const ns = ing.metadata.namespace!;
      if (!name || out.has(`${ns}/${name}`)) continue;
      const s = secrets(ns, name);
      if (!s || s.type !== 'kubernetes.io/tls') continue;
      const data = rec(s.data);
      const cert = Buffer.from(str(data['tls.crt']), 'base64').toString('utf8');
      const key = Buffer.from(str(data['tls.key']), 'base64').toString('utf8');
      if (!cert || !key) continue;
      out.set(`${ns}/${name}`, { namespace: ns, name, cert, key });
    }
  }
  return [...out.values()];
}

/** the Secrets (namespace/name) the current Ingresses name: a change to one of them changes the state */
export function referencedSecrets(own: KubeObject[]): Set<string> {
  const out = new Set<string>();
  for (const ing of own)
    for (const t of list(ing.spec?.tls))
      if (str(t.secretName)) out.add(`${ing.metadata.namespace}/${str(t.secretName)}`);
  return out;
}

export function ingressState(
  ingresses: KubeObject[],
  classes: KubeObject[],
  secrets: (namespace: string, name: string) => KubeObject | undefined,
  onBad: (what: string) => void,
): IngressPart {
  const own = ownIngresses(ingresses, classes);
  if (!own.length) return {};
  const entries = own
    .map(ingressEntry)
    .filter((e) => {
      if (NetIngress.safeParse(e).success) return true;
      onBad(`ingress ${e.namespace}/${e.name}`);
      return false;
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const certs = ingressCerts(own, secrets)
    .filter((c) => {
      if (NetIngressCert.safeParse(c).success) return true;
      onBad(`secret ${c.namespace}/${c.name}`);
      return false;
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { ingresses: entries, ...(certs.length ? { ingressCerts: certs } : {}) };
}
