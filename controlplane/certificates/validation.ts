// CertificateSigningRequest validation (pkg/apis/certificates/validation): the request is
// a correctly signed PEM CERTIFICATE REQUEST, usages are given, known and unique,
// signerName is `domain/path`, expirationSeconds ≥ 600, conditions are well formed, and
// on update Approved/Denied/Failed conditions are never removed, Approved/Denied change
// only through /approval and status.certificate only through /status, once.
// Tolerances for data already stored (getValidationOptions) follow Kubernetes.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import { field } from '../api/errors.js';
import { canonicalJson } from '../../proto/canonical.js';
import { isDNS1123Label, isDNS1123Subdomain } from '../resources/meta-validation.js';
import { checkCsrPem, firstPemBlock } from './pkcs10.js';

export const LEGACY_UNKNOWN_SIGNER = 'kubernetes.io/legacy-unknown';

export const VALID_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];
const SORTED_USAGES = [...VALID_USAGES].sort();
const TRUE_ONLY_TYPES = new Set(['Approved', 'Denied', 'Failed']);

/** which path the object arrives by: its options (subresource capabilities) differ */
export type CsrWrite = 'create' | 'update' | 'status' | 'approval';

interface Condition {
  type?: unknown;
  status?: unknown;
}

export function conditionsOf(o: KubeObject | undefined): Condition[] {
  const c = (o?.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}

function spec(o: KubeObject): Record<string, unknown> {
  return (o.spec && typeof o.spec === 'object' ? o.spec : {}) as Record<string, unknown>;
}

function certificateOf(o: KubeObject | undefined): string {
  const c = (o?.status as { certificate?: unknown } | undefined)?.certificate;
  return typeof c === 'string' ? c : '';
}

/** spec.request / status.certificate are []byte: base64 in JSON */
export function bytesOf(v: unknown): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.alloc(0);
}

/** Go's %#v of a []byte, as field.Invalid prints spec.request */
function goBytes(b: Buffer): string {
  return b.length ? `[]byte{${[...b].map((x) => `0x${x.toString(16)}`).join(', ')}}` : '[]byte(nil)';
}

/** validateCertificate: every PEM block a CERTIFICATE without headers, at least one */
export function certificateError(pem: Buffer): string | undefined {
  if (!pem.length) return undefined;
  let text = pem.toString('latin1');
  let blocks = 0;
  for (;;) {
    const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----\r?\n?/.exec(text);
    if (!m) break;
    if (m[1] !== 'CERTIFICATE') return `only CERTIFICATE PEM blocks are allowed, found ${JSON.stringify(m[1])}`;
    if (/^[A-Za-z-]+:/m.test(m[2]!)) return 'no PEM block headers are permitted';
    const block = firstPemBlock(m[0]);
    if (!block || block.der.length < 2 || block.der[0] !== 0x30) return 'x509: malformed certificate';
    blocks++;
    text = text.slice(m.index + m[0].length);
  }
  return blocks ? undefined : 'must contain at least one CERTIFICATE PEM block';
}

/** ValidateCertificateSigningRequestSignerName */
export function validateSignerName(path: string, signerName: string): StatusCause[] {
  if (!signerName) return [field.required(path, 'signerName must be provided')];
  const segments = signerName.split('/');
  if (segments.length !== 2)
    return [
      field.invalid(
        path,
        signerName,
        "must be a fully qualified domain and path of the form 'example.com/signer-name'",
      ),
    ];
  const out: StatusCause[] = [];
  const [domain, rest] = segments as [string, string];
  if (domain.length > 253) out.push(field.tooLong(path, domain, 253));
  const labels = domain.split('.');
  for (const l of labels) {
    const errs = isDNS1123Label(l);
    if (errs.length) {
      for (const e of errs) out.push(field.invalid(path, domain, `validating label ${JSON.stringify(l)}: ${e}`));
      break;
    }
  }
  if (labels.length < 2)
    out.push(field.invalid(path, domain, 'should be a domain with at least two segments separated by dots'));
  for (const l of rest.split('.')) {
    const errs = isDNS1123Subdomain(l);
    if (errs.length) {
      for (const e of errs) out.push(field.invalid(path, rest, `validating label ${JSON.stringify(l)}: ${e}`));
      break;
    }
  }
  if (signerName.length > 253 + 253 + 63 + 1 + 1) out.push(field.tooLong(path, signerName, 571));
  return out;
}

interface Options {
  allowSettingApprovalConditions: boolean;
  allowSettingCertificate: boolean;
  allowBothApprovedAndDenied: boolean;
  allowLegacySignerName: boolean;
  allowDuplicateConditionTypes: boolean;
  allowEmptyConditionType: boolean;
  allowArbitraryCertificate: boolean;
  allowUnknownUsages: boolean;
  allowDuplicateUsages: boolean;
}

function usagesOf(o: KubeObject | undefined): unknown[] {
  const u = o ? spec(o).usages : undefined;
  return Array.isArray(u) ? u : [];
}

function hasDuplicates(xs: unknown[]): boolean {
  return new Set(xs.map((x) => String(x))).size !== xs.length;
}

/** getValidationOptions: what stored data already breaks is tolerated on its updates */
function optionsFor(obj: KubeObject, old: KubeObject | undefined, write: CsrWrite): Options {
  const oldTypes = conditionsOf(old).map((c) => c.type);
  return {
    allowSettingApprovalConditions: write === 'approval',
    allowSettingCertificate: write === 'status',
    allowBothApprovedAndDenied: !!old && oldTypes.includes('Approved') && oldTypes.includes('Denied'),
    allowLegacySignerName: !!old && spec(old).signerName === LEGACY_UNKNOWN_SIGNER,
    allowDuplicateConditionTypes: !!old && hasDuplicates(oldTypes),
    allowEmptyConditionType: !!old && oldTypes.some((t) => !t),
    allowArbitraryCertificate:
      !!old &&
      (certificateOf(obj) === certificateOf(old) || certificateError(bytesOf(certificateOf(old))) !== undefined),
    allowUnknownUsages: !!old && usagesOf(old).some((u) => !VALID_USAGES.includes(String(u))),
    allowDuplicateUsages: !!old && hasDuplicates(usagesOf(old)),
  };
}

function validateConditions(obj: KubeObject, opts: Options): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  let approved = false;
  let denied = false;
  conditionsOf(obj).forEach((c, i) => {
    const p = `status.conditions[${i}]`;
    const type = typeof c.type === 'string' ? c.type : '';
    if (!opts.allowEmptyConditionType && !type) out.push(field.required(`${p}.type`));
    const allowed = TRUE_ONLY_TYPES.has(type) ? ['True'] : ['False', 'True', 'Unknown'];
    if (c.status === undefined || c.status === null || c.status === '') out.push(field.required(`${p}.status`));
    else if (!allowed.includes(String(c.status))) out.push(field.notSupported(`${p}.status`, c.status, allowed));
    if (!opts.allowBothApprovedAndDenied) {
      if (type === 'Approved') {
        approved = true;
        if (denied) out.push(field.invalid(`${p}.type`, type, 'Approved and Denied conditions are mutually exclusive'));
      }
      if (type === 'Denied') {
        denied = true;
        if (approved)
          out.push(field.invalid(`${p}.type`, type, 'Approved and Denied conditions are mutually exclusive'));
      }
    }
    if (!opts.allowDuplicateConditionTypes) {
      if (seen.has(type)) out.push(field.duplicate(`${p}.type`, type));
      seen.add(type);
    }
  });
  return out;
}

function validateObject(obj: KubeObject, opts: Options): StatusCause[] {
  const out: StatusCause[] = [];
  const s = spec(obj);
  const request = bytesOf(s.request);
  const err = checkCsrPem(request);
  if (err)
    out.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${goBytes(request)}: ${err}`,
      field: 'spec.request',
    });
  const usages = Array.isArray(s.usages) ? s.usages : [];
  if (!usages.length) out.push(field.required('spec.usages', 'usages must be provided'));
  if (!opts.allowUnknownUsages) {
    usages.forEach((u, i) => {
      if (!VALID_USAGES.includes(String(u))) out.push(field.notSupported(`spec.usages[${i}]`, u, SORTED_USAGES));
    });
  }
  if (!opts.allowDuplicateUsages) {
    const seen = new Set<string>();
    usages.forEach((u, i) => {
      if (seen.has(String(u))) out.push(field.duplicate(`spec.usages[${i}]`, u));
      seen.add(String(u));
    });
  }
  const signerName = typeof s.signerName === 'string' ? s.signerName : '';
  if (!opts.allowLegacySignerName && signerName === LEGACY_UNKNOWN_SIGNER)
    out.push(field.invalid('spec.signerName', signerName, 'the legacy signerName is not allowed via this API version'));
  else out.push(...validateSignerName('spec.signerName', signerName));
  if (typeof s.expirationSeconds === 'number' && s.expirationSeconds < 600) {
    out.push(
      field.invalid(
        'spec.expirationSeconds',
        s.expirationSeconds,
        'may not specify a duration less than 600 seconds (10 minutes)',
      ),
    );
  }
  out.push(...validateConditions(obj, opts));
  if (!opts.allowArbitraryCertificate) {
    const e = certificateError(bytesOf(certificateOf(obj)));
    if (e)
      out.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "<certificate data>": ${e}`,
        field: 'status.certificate',
      });
  }
  return out;
}

/** ValidateCertificateSigningRequest{Create,Update,StatusUpdate,ApprovalUpdate} (metadata is checked by the caller) */
export function validateCsr(obj: KubeObject, old: KubeObject | undefined, write: CsrWrite): StatusCause[] {
  const opts = optionsFor(obj, old, write);
  const out = validateObject(obj, opts);
  if (!old) return out;
  for (const t of ['Approved', 'Denied', 'Failed']) {
    if (conditionsOf(obj).filter((c) => c.type === t).length < conditionsOf(old).filter((c) => c.type === t).length) {
      out.push(field.forbidden('status.conditions', `updates may not remove a condition of type ${JSON.stringify(t)}`));
    }
  }
  if (!opts.allowSettingApprovalConditions) {
    for (const t of ['Approved', 'Denied']) {
      const n = conditionsOf(obj).filter((c) => c.type === t);
      const o = conditionsOf(old).filter((c) => c.type === t);
      if (n.length > o.length)
        out.push(field.forbidden('status.conditions', `updates may not add a condition of type ${JSON.stringify(t)}`));
      else if (n.length === o.length && canonicalJson(n) !== canonicalJson(o))
        out.push(
          field.forbidden('status.conditions', `updates may not modify a condition of type ${JSON.stringify(t)}`),
        );
    }
  }
  if (certificateOf(obj) !== certificateOf(old)) {
    if (!opts.allowSettingCertificate)
      out.push(field.forbidden('status.certificate', 'updates may not set certificate content'));
    else if (certificateOf(old))
      out.push(field.forbidden('status.certificate', 'updates may not modify existing certificate content'));
  }
  return out;
}
