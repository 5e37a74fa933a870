// networking.k8s.io/v1 IngressClass: SetDefaults_IngressClass (parameters.scope Cluster),
// ValidateIngressClass / ValidateIngressClassUpdate (domain-prefixed controller, immutable
// once set, parameters reference and scope), the NAME CONTROLLER PARAMETERS AGE row, the
// default-class lookup of the DefaultIngressClass admission, and skiff's own class.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import {
  FIELD_IMMUTABLE_ERROR_MSG,
  isDNS1123Subdomain,
  isRecord,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  regexError,
  validateObjectMeta,
} from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { validatePathSegmentName } from './rbac.js';

export const IS_DEFAULT_INGRESS_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
/** the class skiff seeds once and its agents serve */
export const SKIFF_INGRESS_CLASS = 'skiff';
export const SKIFF_INGRESS_CONTROLLER = 'skiff.io/ingress';
const MAX_CONTROLLER_LEN = 250;
const HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const SCOPES = ['Cluster', 'Namespace'];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const has = (v: unknown): boolean => v !== undefined && v !== null;

/**
 * getDefaultClass of the DefaultIngressClass plugin: among the classes annotated default,
 * the newest; ties by name ascending. Undefined when none is.
 */
export function defaultIngressClass(classes: readonly KubeObject[]): KubeObject | undefined {
  const defaults = classes.filter((c) => c.metadata?.annotations?.[IS_DEFAULT_INGRESS_CLASS_ANNOTATION] === 'true');
  defaults.sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    if (ta !== tb) return tb - ta;
    const na = a.metadata.name ?? '';
    const nb = b.metadata.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  return defaults[0];
}

/** validateIngressTypedLocalObjectReference */
export function validateTypedLocalRef(ref: Record<string, unknown>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (has(ref.apiGroup))
    for (const m of isDNS1123Subdomain(str(ref.apiGroup))) out.push(field.invalid(`${path}.apiGroup`, ref.apiGroup, m));
  if (!str(ref.kind)) out.push(field.required(`${path}.kind`, 'kind is required'));
  else
    for (const m of validatePathSegmentName(str(ref.kind), false)) out.push(field.invalid(`${path}.kind`, ref.kind, m));
  if (!str(ref.name)) out.push(field.required(`${path}.name`, 'name is required'));
  else
    for (const m of validatePathSegmentName(str(ref.name), false)) out.push(field.invalid(`${path}.name`, ref.name, m));
  return out;
}

/** validation.IsDomainPrefixedPath */
function validateDomainPrefixedPath(path: string, value: string): StatusCause[] {
  if (!value) return [field.required(path, '')];
  const i = value.indexOf('/');
  const host = i < 0 ? '' : value.slice(0, i);
  const rest = i < 0 ? '' : value.slice(i + 1);
  if (i < 0 || !host || !rest)
    return [field.invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const out = isDNS1123Subdomain(host).map((m) => field.invalid(path, host, m));
  if (!new RegExp(`^${HTTP_PATH_FMT}$`).test(rest))
    out.push(field.invalid(path, rest, regexError('Invalid path', HTTP_PATH_FMT)));
  return out;
}

function validateParameters(params: unknown, path: string): StatusCause[] {
  if (!isRecord(params)) return [];
  const out = validateTypedLocalRef(params, path);
  if (params.scope === undefined || params.scope === null) {
    out.push(field.required(`${path}.scope`, ''));
    return out;
  }
  const scope = str(params.scope);
  if (!SCOPES.includes(scope)) {
    out.push(field.notSupported(`${path}.scope`, scope, SCOPES));
    return out;
  }
  const hasNs = params.namespace !== undefined && params.namespace !== null;
  if (scope === 'Namespace') {
    if (!hasNs) out.push(field.required(`${path}.namespace`, "`parameters.scope` is set to 'Namespace'"));
    else
      for (const m of nameIsDNSLabel(str(params.namespace), false))
        out.push(field.invalid(`${path}.namespace`, params.namespace, m));
  }
  if (scope === 'Cluster' && hasNs)
    out.push(field.forbidden(`${path}.namespace`, "`parameters.scope` is set to 'Cluster'"));
  return out;
}

export function validateIngressClass(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const out: StatusCause[] = [];
  if (old && str(spec.controller) !== str(old.spec?.controller))
    out.push(field.invalid('spec.controller', str(spec.controller), FIELD_IMMUTABLE_ERROR_MSG));
  out.push(...validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain }));
  const controller = str(spec.controller);
  if (controller.length > MAX_CONTROLLER_LEN)
    out.push(field.tooLong('spec.controller', controller, MAX_CONTROLLER_LEN));
  out.push(...validateDomainPrefixedPath('spec.controller', controller));
  out.push(...validateParameters(spec.parameters, 'spec.parameters'));
  return out;
}

/** the `skiff` class: skiff.io/ingress, annotated default */
export function skiffIngressClassObject(): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: SKIFF_INGRESS_CLASS, annotations: { [IS_DEFAULT_INGRESS_CLASS_ANNOTATION]: 'true' } },
    spec: { controller: SKIFF_INGRESS_CONTROLLER },
  };
}

export const ingressClass: ResourceDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'IngressClass',
  resource: 'ingressclasses',
  singular: 'ingressclass',
  namespaced: false,
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: true,
  schema: 'IngressClass',

  defaults(obj) {
    const p = obj.spec?.parameters;
    if (isRecord(p) && (p.scope === undefined || p.scope === null)) p.scope = 'Cluster';
  },

  validate: (obj, old) => validateIngressClass(obj, old),

  columns: [
    nameColumn(),
    col('Controller', 'string', 'Controller that is responsible for handling this class'),
    col('Parameters', 'string', 'A reference to a resource with additional parameters'),
    ageColumn(),
  ],
  row(obj, now) {
    const p = obj.spec?.parameters;
    let parameters = '<none>';
    if (isRecord(p)) {
      parameters = str(p.kind);
      if (typeof p.apiGroup === 'string') parameters += `.${p.apiGroup}`;
      parameters += `/${str(p.name)}`;
    }
    return [obj.metadata?.name ?? '', str(obj.spec?.controller), parameters, ageOf(obj, now)];
  },
};
