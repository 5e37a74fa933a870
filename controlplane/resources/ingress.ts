// networking.k8s.io/v1 Ingress: ValidateIngressCreate/Update/StatusUpdate as kube-apiserver
// v1.32 words them (pkg/apis/networking/validation: hosts and `*.` wildcards, pathType
// required, absolute paths without `//`, `/./`, `/../`, `%2f`, backends by service
// name/port or resource, TLS hosts and secret names), the DefaultIngressClass admission
// (spec.ingressClassName of the newest class annotated default, on create only) and the
// printers' NAME CLASS HOSTS ADDRESS PORTS AGE row. The agents serve it (agent/ingress/).
import { isIP } from 'node:net';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { defaultIngressClass, validateTypedLocalRef } from './ingress-class.js';
import {
  invalidRendered,
  isDNS1123Subdomain,
  isRecord,
  isValidPortName,
  isValidPortNum,
  maxLenError,
  nameIsDNS1035Label,
  nameIsDNSSubdomain,
  regexError,
  validateObjectMeta,
} from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

/** networkingv1beta1.AnnotationIngressClass: the class before spec.ingressClassName existed */
export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const has = (v: unknown): boolean => v !== undefined && v !== null;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const WILDCARD_FMT = '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const WILDCARD_ERR =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

/** validation.IsWildcardDNS1123Subdomain */
export function isWildcardDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (Buffer.byteLength(value) > 253) errs.push(maxLenError(253));
  if (!new RegExp(`^${WILDCARD_FMT}$`).test(value)) errs.push(regexError(WILDCARD_ERR, WILDCARD_FMT, '*.example.com'));
  return errs;
}

/** netutils.ParseIPSloppy accepts IPv4 with leading zeros too */
const looksLikeIP = (h: string): boolean => isIP(h) !== 0 || /^\d{1,3}(\.\d{1,3}){3}$/.test(h);

interface Options {
  allowInvalidSecretName: boolean;
  allowInvalidWildcardHostRule: boolean;
}

function validateBackend(backend: unknown, path: string): StatusCause[] {
  const b = isRecord(backend) ? backend : {};
  const out: StatusCause[] = [];
  const resource = isRecord(b.resource) ? b.resource : undefined;
  const svc = isRecord(b.service) ? b.service : undefined;
  if (resource && svc) return [field.invalid(path, '', 'cannot set both resource and service backends')];
  if (resource) return validateTypedLocalRef(resource, `${path}.resource`);
  if (!svc) return [field.invalid(path, '', 'resource or service backend is required')];
  const name = str(svc.name);
  if (!name) out.push(field.required(`${path}.service.name`, ''));
  else for (const m of nameIsDNS1035Label(name, false)) out.push(field.invalid(`${path}.service.name`, name, m));
  const port = isRecord(svc.port) ? svc.port : {};
  const portName = str(port.name);
  const portNumber = typeof port.number === 'number' ? port.number : 0;
  if (portName && portNumber !== 0) out.push(field.invalid(path, '', 'cannot set both port name & port number'));
  else if (portName)
    for (const m of isValidPortName(portName)) out.push(field.invalid(`${path}.service.port.name`, portName, m));
  else if (portNumber !== 0)
    for (const m of isValidPortNum(portNumber)) out.push(field.invalid(`${path}.service.port.number`, portNumber, m));
  else out.push(field.required(path, 'port name or number is required'));
  return out;
}

function validatePath(p: unknown, path: string): StatusCause[] {
  const hp = isRecord(p) ? p : {};
  if (!has(hp.pathType)) return [field.required(`${path}.pathType`, 'pathType must be specified')];
  const out: StatusCause[] = [];
  const value = str(hp.path);
  switch (hp.pathType) {
    case 'Exact':
    case 'Prefix':
      if (!value.startsWith('/')) out.push(field.invalid(`${path}.path`, value, 'must be an absolute path'));
      if (value.length > 0) {
        for (const seq of INVALID_PATH_SEQUENCES)
          if (value.includes(seq)) out.push(field.invalid(`${path}.path`, value, `must not contain '${seq}'`));
        for (const suf of INVALID_PATH_SUFFIXES)
          if (value.endsWith(suf)) out.push(field.invalid(`${path}.path`, value, `cannot end with '${suf}'`));
      }
      break;
    case 'ImplementationSpecific':
      if (value.length > 0 && !value.startsWith('/'))
        out.push(field.invalid(`${path}.path`, value, 'must be an absolute path'));
      break;
    default:
      out.push(field.notSupported(`${path}.pathType`, hp.pathType, PATH_TYPES));
  }
  out.push(...validateBackend(hp.backend, `${path}.backend`));
  return out;
}

function validateHost(host: string, path: string): { causes: StatusCause[]; wildcard: boolean } {
  const causes: StatusCause[] = [];
  if (looksLikeIP(host)) causes.push(field.invalid(path, host, 'must be a DNS name, not an IP address'));
  if (host.includes('*')) {
    for (const m of isWildcardDNS1123Subdomain(host)) causes.push(field.invalid(path, host, m));
    return { causes, wildcard: true };
  }
  for (const m of isDNS1123Subdomain(host)) causes.push(field.invalid(path, host, m));
  return { causes, wildcard: false };
}

function validateRules(rules: unknown[], path: string, opts: Options): StatusCause[] {
  const out: StatusCause[] = [];
  rules.forEach((rule, i) => {
    const r = isRecord(rule) ? rule : {};
    let wildcard = false;
    const host = str(r.host);
    if (host) {
      const v = validateHost(host, `${path}[${i}].host`);
      out.push(...v.causes);
      wildcard = v.wildcard;
    }
    if (!wildcard || !opts.allowInvalidWildcardHostRule) {
      if (isRecord(r.http)) {
        const paths = list(r.http.paths);
        if (paths.length === 0) out.push(field.required(`${path}[${i}].http.paths`, ''));
        paths.forEach((p, j) => out.push(...validatePath(p, `${path}[${i}].http.paths[${j}]`)));
      }
    }
  });
  return out;
}

function validateTLS(tls: unknown[], path: string, opts: Options): StatusCause[] {
  const out: StatusCause[] = [];
  tls.forEach((t, i) => {
    const entry = isRecord(t) ? t : {};
    list(entry.hosts).forEach((h, j) => {
      const host = str(h);
      const p = `${path}[${i}].hosts[${j}]`;
      const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      for (const m of msgs) out.push(field.invalid(p, host, m));
    });
    const secret = str(entry.secretName);
    if (!opts.allowInvalidSecretName && secret) {
      for (const m of nameIsDNSSubdomain(secret, false)) out.push(field.invalid(`${path}[${i}].secretName`, secret, m));
    }
  });
  return out;
}

/** ValidateIngressSpec */
export function validateIngressSpec(
  spec: unknown,
  opts: Options = { allowInvalidSecretName: false, allowInvalidWildcardHostRule: false },
  path = 'spec',
): StatusCause[] {
  const s = isRecord(spec) ? spec : {};
  const out: StatusCause[] = [];
  const rules = list(s.rules);
  if (rules.length === 0 && !isRecord(s.defaultBackend)) {
    out.push(
      invalidRendered(
        path,
        Array.isArray(s.rules) ? '[]networking.IngressRule{}' : '[]networking.IngressRule(nil)',
        'either `defaultBackend` or `rules` must be specified',
      ),
    );
  }
  if (isRecord(s.defaultBackend)) out.push(...validateBackend(s.defaultBackend, `${path}.defaultBackend`));
  if (rules.length > 0) out.push(...validateRules(rules, `${path}.rules`, opts));
  const tls = list(s.tls);
  if (tls.length > 0) out.push(...validateTLS(tls, `${path}.tls`, opts));
  if (has(s.ingressClassName)) {
    for (const m of nameIsDNSSubdomain(str(s.ingressClassName), false))
      out.push(field.invalid(`${path}.ingressClassName`, s.ingressClassName, m));
  }
  return out;
}

/** allowInvalidSecretName / allowInvalidWildcardHostRule: what an update may keep from the stored object */
function updateOptions(old: KubeObject): Options {
  const strict = { allowInvalidSecretName: false, allowInvalidWildcardHostRule: false };
  const tlsBad = list(old.spec?.tls).some(
    (t) => isRecord(t) && str(t.secretName) !== '' && nameIsDNSSubdomain(str(t.secretName), false).length > 0,
  );
  const wildcardBad =
    validateRules(
      list(old.spec?.rules).filter((r) => isRecord(r) && str(r.host).includes('*')),
      'spec.rules',
      strict,
    ).length > 0;
  return { allowInvalidSecretName: tlsBad, allowInvalidWildcardHostRule: wildcardBad };
}

/** ValidateIngressLoadBalancerStatus */
export function validateIngressStatus(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  list(obj.status?.loadBalancer?.ingress).forEach((ing, i) => {
    const e = isRecord(ing) ? ing : {};
    const p = `status.loadBalancer.ingress[${i}]`;
    const ip = str(e.ip);
    if (ip && isIP(ip) === 0) out.push(field.invalid(`${p}.ip`, ip, 'must be a valid IP address'));
    const hostname = str(e.hostname);
    if (hostname) {
      for (const m of isDNS1123Subdomain(hostname)) out.push(field.invalid(`${p}.hostname`, hostname, m));
      if (looksLikeIP(hostname))
        out.push(field.invalid(`${p}.hostname`, hostname, 'must be a DNS name, not an IP address'));
    }
  });
  return out;
}

/** printers.go formatHosts: up to three hosts, then "+ N more..."; "*" when none */
export function formatHosts(rules: unknown[]): string {
  const hosts: string[] = [];
  let more = false;
  for (const r of rules) {
    if (hosts.length === 3) more = true;
    const h = isRecord(r) ? str(r.host) : '';
    if (!more && h) hosts.push(h);
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
}

/** ingressLoadBalancerStatusStringer (wide, as the server prints): unique sorted IPs or hostnames */
export function formatAddress(obj: KubeObject): string {
  const set = new Set<string>();
  for (const i of list(obj.status?.loadBalancer?.ingress)) {
    if (!isRecord(i)) continue;
    if (str(i.ip)) set.add(str(i.ip));
    else if (str(i.hostname)) set.add(str(i.hostname));
  }
  return [...set].sort().join(',');
}

export const ingress: ResourceDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'Ingress',
  resource: 'ingresses',
  singular: 'ingress',
  namespaced: true,
  shortNames: ['ing'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: true,
  schema: 'Ingress',

  /** DefaultIngressClass admission: no class named and no class annotation → the default class */
  async admit(obj, ctx) {
    if (!isRecord(obj.spec)) obj.spec = {};
    if (has(obj.spec.ingressClassName)) return;
    if (obj.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION] !== undefined) return;
    const def = defaultIngressClass(await ctx.list('networking.k8s.io', 'v1', 'ingressclasses'));
    if (def) obj.spec.ingressClassName = def.metadata.name;
  },

  validate(obj, old) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validateIngressSpec(obj.spec, old ? updateOptions(old) : undefined));
    if (!old) {
      const ann = obj.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
      const cls = obj.spec?.ingressClassName;
      if (ann !== undefined && has(cls) && ann !== cls) {
        out.push(
          field.invalid(
            `annotations.${INGRESS_CLASS_ANNOTATION}`,
            ann,
            'must match `ingressClassName` when both are specified',
          ),
        );
      }
    }
    return out;
  },

  validateStatus: (obj) => validateIngressStatus(obj),

  columns: [
    nameColumn(),
    col('Class', 'string', 'The name of the IngressClass resource that should be used'),
    col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'string', 'Ports of TLS configurations that open'),
    ageColumn(),
  ],
  row: (obj, now) => [
    obj.metadata?.name ?? '',
    typeof obj.spec?.ingressClassName === 'string' ? obj.spec.ingressClassName : '<none>',
    formatHosts(list(obj.spec?.rules)),
    formatAddress(obj),
    list(obj.spec?.tls).length ? '80, 443' : '80',
    ageOf(obj, now),
  ],
};
