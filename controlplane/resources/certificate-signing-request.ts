// certificates.k8s.io/v1 CertificateSigningRequest (pkg/registry/certificates): cluster
// scoped; on create spec.username/uid/groups/extra come from the requesting user and the
// status is cleared (no pre-approved requests); spec never changes after; /status sets
// the certificate, /approval the Approved/Denied conditions (routes: certificates/routes.ts).
// Table as kube-apiserver prints it: NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION.
import type { KubeObject } from '../../proto/meta.js';
import { ageOf, humanDuration } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';
import { conditionsOf, validateCsr } from '../certificates/validation.js';
import { currentCsrRequest } from '../certificates/requester.js';

export const CERTIFICATES_GROUP = 'certificates.k8s.io';

/** extractCSRStatus: Denied / Approved / Pending, then ,Failed and ,Issued */
export function csrCondition(o: KubeObject): string {
  const types = new Set(conditionsOf(o).map((c) => c.type));
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) s += ',Failed';
  if ((o.status as { certificate?: unknown } | undefined)?.certificate) s += ',Issued';
  return s;
}

function specOf(o: KubeObject): Record<string, unknown> {
  if (!o.spec || typeof o.spec !== 'object') o.spec = {};
  return o.spec as Record<string, unknown>;
}

const validateMeta = (obj: KubeObject) => validateObjectMeta(obj, { namespaced: false, nameFn: () => [] });

export const certificateSigningRequest: ResourceDef = {
  group: CERTIFICATES_GROUP,
  version: 'v1',
  kind: 'CertificateSigningRequest',
  resource: 'certificatesigningrequests',
  singular: 'certificatesigningrequest',
  namespaced: false,
  shortNames: ['csr'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status', 'approval'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'CertificateSigningRequest',

  prepareForCreate(obj) {
    const s = specOf(obj);
    delete s.username;
    delete s.uid;
    delete s.groups;
    delete s.extra;
    const u = currentCsrRequest()?.user;
    if (u) {
      s.username = u.name;
      if (u.uid) s.uid = u.uid;
      if (u.groups.length) s.groups = [...u.groups];
      if (u.extra && Object.keys(u.extra).length) s.extra = structuredClone(u.extra);
    }
    obj.status = {};
  },
  prepareForUpdate(obj, old) {
    obj.spec = structuredClone(old.spec);
  },
  validate: (obj, old) => [...validateMeta(obj), ...validateCsr(obj, old, old ? 'update' : 'create')],
  validateStatus(obj, old) {
    const r = currentCsrRequest();
    r?.admitStatus?.(obj, old);
    return [...validateMeta(obj), ...validateCsr(obj, old, r?.approval ? 'approval' : 'status')];
  },

  // list/watch may filter on spec.signerName (SelectableFields)
  fields: {
    'spec.signerName': (o) => {
      const v = (o.spec as { signerName?: unknown } | undefined)?.signerName;
      return typeof v === 'string' ? v : '';
    },
  },

  columns: [
    nameColumn(),
    ageColumn(),
    col('SignerName', 'string', 'signerName indicates the requested signer, and is a qualified name.'),
    col(
      'Requestor',
      'string',
      'request contains an x509 certificate signing request encoded in a "CERTIFICATE REQUEST" PEM block. When serialized as JSON or YAML, the data is additionally base64-encoded.',
    ),
    col(
      'RequestedDuration',
      'string',
      'expirationSeconds is the requested duration of validity of the issued certificate.',
    ),
    col(
      'Condition',
      'string',
      'conditions applied to the request. Known conditions are "Approved", "Denied", and "Failed".',
    ),
  ],
  row(obj, now) {
    const s = (obj.spec ?? {}) as Record<string, unknown>;
    const exp = typeof s.expirationSeconds === 'number' ? humanDuration(s.expirationSeconds * 1000) : '<none>';
    return [
      obj.metadata.name ?? '',
      ageOf(obj, now),
      typeof s.signerName === 'string' && s.signerName ? s.signerName : '<none>',
      typeof s.username === 'string' ? s.username : '',
      exp,
      csrCondition(obj),
    ];
  },
};
