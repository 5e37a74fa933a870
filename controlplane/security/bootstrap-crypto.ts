// The cluster's bootstrap data as it sits in a shared datastore, sealed with the join
// token's passphrase, in the shape of k3s' pkg/cluster/encrypt.go: stored under
// /bootstrap/<first 12 hex of sha256(passphrase)> (outside /registry/, so no API client
// sees it) as `<salt hex>:<base64(nonce[12] || ciphertext || tag[16])>`, AES-256-GCM with
// a key from PBKDF2 of the passphrase and the salt. k3s uses PBKDF2-SHA1 with 4096 rounds;
// skiff uses SHA-512 with more rounds (a user may choose a weak --token), so the bytes are
// skiff's own, not k3s'.
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync, randomBytes } from 'node:crypto';

export const BOOTSTRAP_PREFIX = '/bootstrap/';
const ROUNDS = 100_000;
const NONCE_LEN = 12;
const TAG_LEN = 16;

/** the datastore key of the bootstrap data sealed with this passphrase (k3s' storageKey) */
export function bootstrapKey(passphrase: string): string {
  return BOOTSTRAP_PREFIX + createHash('sha256').update(passphrase).digest('hex').slice(0, 12);
}

function derive(passphrase: string, salt: string): Buffer {
  return pbkdf2Sync(passphrase, salt, ROUNDS, 32, 'sha512');
}

export function sealBootstrap(passphrase: string, plaintext: string): string {
  const salt = randomBytes(8).toString('hex');
  const nonce = randomBytes(NONCE_LEN);
  const c = createCipheriv('aes-256-gcm', derive(passphrase, salt), nonce);
  const body = Buffer.concat([nonce, c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
  return `${salt}:${body.toString('base64')}`;
}

/** the token does not open the data: a wrong passphrase, or data that is not ours */
export class BootstrapDecryptError extends Error {}

export function openBootstrap(passphrase: string, sealed: string): string {
  const i = sealed.indexOf(':');
  const body = i > 0 ? Buffer.from(sealed.slice(i + 1), 'base64') : Buffer.alloc(0);
  if (body.length < NONCE_LEN + TAG_LEN)
    throw new BootstrapDecryptError('bootstrap data in the datastore is not <salt>:<base64> sealed data');
  try {
    const d = createDecipheriv('aes-256-gcm', derive(passphrase, sealed.slice(0, i)), body.subarray(0, NONCE_LEN));
    d.setAuthTag(body.subarray(body.length - TAG_LEN));
    return Buffer.concat([d.update(body.subarray(NONCE_LEN, body.length - TAG_LEN)), d.final()]).toString('utf8');
  } catch {
    throw new BootstrapDecryptError('the token does not decrypt the bootstrap data in the datastore');
  }
}
