// The kubernetes.io/kube-apiserver-client signer's decisions, pure
// (pkg/controller/certificates/signer/signer.go and authority/policies.go): which CSRs it
// acts on, whether the request is valid for the signer (else a Failed condition), the
// certificate's lifetime (min(expirationSeconds, --cluster-signing-duration), at least
// 10 minutes; backdated 5 minutes, the end backdated too unless shorter than 8 hours;
// never past the CA) and the key usages it carries.
import type { KubeObject } from '../../proto/meta.js';
import { conditionsOf } from './validation.js';

export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
const BACKDATE_MS = 5 * 60_000;
const SHORT_MS = 8 * 3600_000;
const MIN_MS = 10 * 60_000;

export type SignerAction = { action: 'none' } | { action: 'fail'; message: string } | { action: 'sign' };

function hasTrue(o: KubeObject, type: string): boolean {
  return conditionsOf(o).some((c) => c.type === type && c.status === 'True');
}

/** validAPIServerClientUsages: client auth required; digital signature and key encipherment optional; nothing else */
export function apiServerClientUsagesError(usages: unknown[]): string | undefined {
  let clientAuth = false;
  for (const u of usages) {
    if (u === 'digital signature' || u === 'key encipherment') continue;
    if (u === 'client auth') {
      clientAuth = true;
      continue;
    }
    return `invalid usage for client certificate: ${String(u)}`;
  }
  return clientAuth ? undefined : 'missing required usage for client certificate: client auth';
}

/** signer.handle: only approved, not failed, not yet issued CSRs of this signer */
export function planSigning(csr: KubeObject): SignerAction {
  const spec = (csr.spec ?? {}) as { signerName?: unknown; usages?: unknown };
  if (!hasTrue(csr, 'Approved') || hasTrue(csr, 'Failed')) return { action: 'none' };
  if (spec.signerName !== KUBE_APISERVER_CLIENT_SIGNER) return { action: 'none' };
  if ((csr.status as { certificate?: unknown } | undefined)?.certificate) return { action: 'none' };
  const err = apiServerClientUsagesError(Array.isArray(spec.usages) ? spec.usages : []);
  return err ? { action: 'fail', message: err } : { action: 'sign' };
}

/** signer.duration: the requested lifetime within [10m, ttl] */
export function certificateDurationMs(expirationSeconds: unknown, ttlMs: number): number {
  if (typeof expirationSeconds !== 'number') return ttlMs;
  const requested = expirationSeconds * 1000;
  if (requested > ttlMs) return ttlMs;
  return requested < MIN_MS ? MIN_MS : requested;
}

/** PermissiveSigningPolicy's NotBefore/NotAfter */
export function validity(now: number, ttlMs: number, caNotAfter: number): { notBefore: number; notAfter: number } {
  const notBefore = now - BACKDATE_MS;
  let notAfter = ttlMs < SHORT_MS ? now + ttlMs : now + ttlMs - BACKDATE_MS;
  if (notAfter >= caNotAfter) notAfter = caNotAfter;
  if (notBefore >= caNotAfter || now >= caNotAfter)
    throw new Error(`the signer has expired: NotAfter=${new Date(caNotAfter).toISOString()}`);
  return { notBefore, notAfter };
}

const KEY_USAGE_BITS: Record<string, number> = {
  // x509.KeyUsage bits as @peculiar/x509's KeyUsageFlags number them
  signing: 1,
  'digital signature': 1,
  'content commitment': 2,
  'key encipherment': 4,
  'key agreement': 16,
  'data encipherment': 8,
  'cert sign': 32,
  'crl sign': 64,
  'encipher only': 128,
  'decipher only': 256,
};
const EXT_KEY_USAGES: Record<string, string> = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};
/** Go's ExtKeyUsage order (keyUsagesFromStrings sorts by it) */
const EXT_ORDER = [
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];

/** keyUsagesFromStrings */
export function keyUsages(usages: string[]): { keyUsage: number; extKeyUsages: string[] } {
  let keyUsage = 0;
  const ext = new Set<string>();
  const unknown: string[] = [];
  for (const u of usages) {
    if (u in KEY_USAGE_BITS) keyUsage |= KEY_USAGE_BITS[u]!;
    else if (u in EXT_KEY_USAGES) ext.add(EXT_KEY_USAGES[u]!);
    else unknown.push(u);
  }
  if (unknown.length)
    throw new Error(`unrecognized usage values: [${unknown.map((u) => JSON.stringify(u)).join(' ')}]`);
  const order = EXT_ORDER.map((n) => EXT_KEY_USAGES[n]!);
  return { keyUsage, extKeyUsages: [...ext].sort((a, b) => order.indexOf(a) - order.indexOf(b)) };
}
