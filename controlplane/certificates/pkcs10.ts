// PKCS#10 certificate requests as Kubernetes reads spec.request
// (pkg/apis/certificates.ParseCSR + x509.CertificateRequest.CheckSignature): the first
// PEM block must be a CERTIFICATE REQUEST, its DER must parse, and its self-signature
// must verify with the public key it carries. Synchronous (node:crypto), so validation
// can run in the write path; the signer reads subject and SANs with @peculiar/x509.
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** one DER TLV at `at` (definite lengths only, as DER requires) */
function tlv(buf: Buffer, at: number, limit = buf.length): Tlv {
  if (at + 2 > limit) throw new Error('asn1: syntax error: data truncated');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new Error('asn1: syntax error: invalid length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new Error('asn1: syntax error: data truncated');
  return { tag, start: at, contentStart: p, end: p + len };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const c = tlv(buf, p, parent.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function oid(bytes: Buffer): string {
  const parts: number[] = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let v = 0;
  for (let i = 1; i < bytes.length; i++) {
    v = v * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** signature algorithms Go's x509 verifies on a CSR: hash for node:crypto (null: the key decides, Ed25519) */
const SIGNATURE_HASHES: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.5': 'sha1',
  '1.3.101.112': null,
};

/** the PEM's first block: type and DER (Go's pem.Decode: headers and garbage around it ignored) */
export function firstPemBlock(text: string): { type: string; der: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) return undefined;
  const body = m[2]!
    .split(/\r?\n/)
    .filter((l) => !/^[A-Za-z-]+:/.test(l))
    .join('');
  if (!/^[A-Za-z0-9+/=\s]*$/.test(body)) return undefined;
  return { type: m[1]!, der: Buffer.from(body.replace(/\s+/g, ''), 'base64') };
}

/**
 * certificates.ParseCSR then CheckSignature: undefined when `pem` holds a valid, correctly
 * self-signed CERTIFICATE REQUEST, else Go's error text.
 */
export function checkCsrPem(pem: Buffer | string): string | undefined {
  const block = firstPemBlock(typeof pem === 'string' ? pem : pem.toString('latin1'));
  if (!block || block.type !== 'CERTIFICATE REQUEST') return 'PEM block type must be CERTIFICATE REQUEST';
  const der = block.der;
  let info: Tlv;
  let alg: Tlv;
  let sig: Tlv;
  let spki: Tlv;
  try {
    const outer = tlv(der, 0);
    if (outer.tag !== 0x30) throw new Error("asn1: structure error: tags don't match");
    [info, alg, sig] = children(der, outer) as [Tlv, Tlv, Tlv];
    if (!info || !alg || !sig || info.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03)
      throw new Error("asn1: structure error: tags don't match");
    const fields = children(der, info);
    spki = fields[2]!;
    if (!spki || spki.tag !== 0x30 || fields[1]?.tag !== 0x30)
      throw new Error("asn1: structure error: tags don't match");
  } catch (e) {
    return (e as Error).message;
  }
  const algOid = children(der, alg)[0];
  const algorithm = algOid && algOid.tag === 0x06 ? oid(der.subarray(algOid.contentStart, algOid.end)) : '';
  if (!(algorithm in SIGNATURE_HASHES)) return 'x509: cannot verify signature: algorithm unimplemented';
  try {
    const key = createPublicKey({ key: der.subarray(spki.start, spki.end), format: 'der', type: 'spki' });
    const signature = der.subarray(sig.contentStart + 1, sig.end);
    const ok = cryptoVerify(SIGNATURE_HASHES[algorithm] ?? null, der.subarray(info.start, info.end), key, signature);
    return ok ? undefined : signatureError(algorithm);
  } catch {
    return signatureError(algorithm);
  }
}

function signatureError(algorithm: string): string {
  if (algorithm.startsWith('1.2.840.10045')) return 'x509: ECDSA verification failure';
  if (algorithm === '1.3.101.112') return 'x509: Ed25519 verification failure';
  return 'crypto/rsa: verification error';
}
