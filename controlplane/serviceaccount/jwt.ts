// ServiceAccount token signing (pkg/serviceaccount/jwt.go): compact JWS, ES256 over a P-256
// key made once in the data dir (0600). The key id is Kubernetes' keyIDFromPublicKey:
// base64url(sha256(PKIX DER of the public key)). node:crypto only, synchronous (the
// authenticator runs on every request).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const KEY_FILE = 'sa.key';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

export function keyIdOf(publicKey: KeyObject): string {
  return b64url(
    createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest(),
  );
}

export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error('service account key must be an EC P-256 key');
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, kid: keyIdOf(publicKey) };
}

/** the key in <dataDir>/sa.key, made on first use */
export function loadOrCreateSigningKey(dataDir: string): SigningKey {
  const file = join(dataDir, KEY_FILE);
  if (!existsSync(file)) writeFileSync(file, newSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  return signingKeyFromPem(readFileSync(file, 'utf8'));
}

/** a new P-256 private key, PKCS#8 PEM */
export function newSigningKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

export function generateSigningKey(): SigningKey {
  return signingKeyFromPem(newSigningKeyPem());
}

export function signJwt(key: SigningKey, claims: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ alg: 'ES256', kid: key.kid }));
  const payload = b64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const sig = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

/** quick shape test (jwt.go's hasCorrectIssuer looks at the unverified payload first) */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** the verified payload, or undefined (bad shape, alg, kid or signature) */
export function verifyJwt(keys: readonly SigningKey[], token: string): Record<string, unknown> | undefined {
  if (!looksLikeJwt(token)) return undefined;
  const [h, p, s] = token.split('.') as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!header || typeof header !== 'object' || (header as { alg?: unknown }).alg !== 'ES256') return undefined;
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const kid = (header as { kid?: unknown }).kid;
  const sig = Buffer.from(s, 'base64url');
  for (const k of keys) {
    if (typeof kid === 'string' && kid !== k.kid) continue;
    if (verify('sha256', Buffer.from(`${h}.${p}`), { key: k.publicKey, dsaEncoding: 'ieee-p1363' }, sig))
      return payload as Record<string, unknown>;
  }
  return undefined;
}

/** /openid/v1/jwks */
export function jwks(keys: readonly SigningKey[]): { keys: Record<string, unknown>[] } {
  return {
    keys: keys.map((k) => {
      const jwk = k.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
      return { use: 'sig', kty: jwk.kty, kid: k.kid, crv: jwk.crv, alg: 'ES256', x: jwk.x, y: jwk.y };
    }),
  };
}

/** /.well-known/openid-configuration (pkg/serviceaccount/openidmetadata.go) */
export function openIdConfiguration(issuer: string, jwksUri: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
  };
}
