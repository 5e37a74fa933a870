// Secrets encrypted at rest, as kube-apiserver's EncryptionConfiguration with the
// `aesgcm` provider does: a Store wrapper, so every backend (sqlite today, etcd later)
// gets it for free. Values under /registry/core/secrets/ are written as
//
//   k8s:enc:aesgcm:v1:<keyname>:<base64(nonce[12] || ciphertext || tag[16])>
//
// with AES-GCM (256-bit key for the generated keys), a random 96-bit nonce per write and
// the store key as additional authenticated data, so a ciphertext cannot be replayed
// under another key. The store holds values as strings (SQLite TEXT), hence base64
// after the prefix where kube-apiserver writes raw bytes to etcd.
//
// Reads (get, list, list-with-continue, watch replays and live events, prevValue) decrypt
// any value carrying the prefix, whatever its key; any other value is passed through
// unchanged (kube-apiserver's identity fallback), so secrets written before encryption
// existed still read. A value that cannot be decrypted (unknown key name, unknown
// provider, truncated, failed tag) is an InternalError for that object, never a crash
// and never ciphertext handed on as if it were the object.
//
// Keys live in <data-dir>/encryption-config.json (mode 0600), made on first start:
//   { "keys": [ { "name": "aesgcm-20250101120000", "secret": "<base64 of 32 bytes>" } ] }
// The first key encrypts; every key decrypts. To rotate: put a new key first (e.g.
// `openssl rand -base64 32`), keep the old ones after it, restart skiff-server: at
// startup every secret not under the first key (or still plaintext) is rewritten with
// it. Keep old keys until history older than the rewrite has been compacted away
// (--compact-retention revisions); a watch replaying that history needs them.
// AES-GCM with random nonces is safe for about 2^32 writes per key: rotate well before.
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ApiError } from '../api/errors.js';
import {
  KeyNotFoundError,
  StaleRevisionError,
  type KV,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type Watch,
  type WatchCallback,
  type WatchTrigger,
} from './types.js';

/** every provider's values start with this (kube-apiserver's k8s:enc:<provider>:v1:<keyname>:) */
export const ENC_MARK = 'k8s:enc:';
export const AESGCM_PREFIX = 'k8s:enc:aesgcm:v1:';
/** where Secrets live in the store (api/keys.ts keyFor for core/v1 secrets) */
export const SECRETS_PREFIX = '/registry/core/secrets/';
export const KEYRING_FILE = 'encryption-config.json';

const NONCE_LEN = 12;
const TAG_LEN = 16;
const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface EncryptionKey {
  name: string;
  /** 16, 24 or 32 bytes (AES-128/192/256-GCM) */
  secret: Buffer;
}

const gcm = (k: EncryptionKey) => `aes-${k.secret.length * 8}-gcm` as CipherGCMTypes;

/** A value in the store that cannot be decrypted: 500 InternalError for that object. */
export class DecryptionError extends ApiError {
  constructor(
    public readonly key: string,
    detail: string,
  ) {
    super(500, 'InternalError', `Internal error occurred: unable to transform key "${key}": ${detail}`);
  }
}

export interface EncryptingStoreOptions {
  /** first encrypts, all decrypt */
  keys: EncryptionKey[];
  /** false: write plaintext (identity first), still decrypt with keys; default true */
  encrypt?: boolean;
  /** which store keys get encrypted; default: Secrets in all namespaces */
  shouldEncrypt?: (key: string) => boolean;
}

export class EncryptingStore implements Store {
  private readonly keys = new Map<string, EncryptionKey>();
  private readonly primary?: EncryptionKey;
  private readonly encrypt: boolean;
  private readonly shouldEncrypt: (key: string) => boolean;

  constructor(
    public readonly inner: Store,
    opts: EncryptingStoreOptions,
  ) {
    for (const k of opts.keys) {
      if (!KEY_NAME.test(k.name))
        throw new Error(`encryption key name ${JSON.stringify(k.name)}: want 1-64 of [A-Za-z0-9._-]`);
      if (![16, 24, 32].includes(k.secret.length))
        throw new Error(`encryption key ${k.name}: secret is ${k.secret.length} bytes, want 16, 24 or 32`);
      if (this.keys.has(k.name)) throw new Error(`encryption key ${k.name} appears twice`);
      this.keys.set(k.name, k);
    }
    this.primary = opts.keys[0];
    this.encrypt = opts.encrypt ?? true;
    if (this.encrypt && !this.primary) throw new Error('secrets encryption needs at least one key');
    this.shouldEncrypt = opts.shouldEncrypt ?? ((key) => key.startsWith(SECRETS_PREFIX));
  }

  // ---------- transforms ----------

  /** the value as stored for key */
  private toStorage(key: string, value: string): string {
    if (!this.encrypt || !this.primary || !this.shouldEncrypt(key)) return value;
    const k = this.primary;
    const nonce = randomBytes(NONCE_LEN);
    const c = createCipheriv(gcm(k), k.secret, nonce);
    c.setAAD(Buffer.from(key, 'utf8'));
    const body = Buffer.concat([nonce, c.update(value, 'utf8'), c.final(), c.getAuthTag()]);
    return `${AESGCM_PREFIX}${k.name}:${body.toString('base64')}`;
  }

  /** the stored value for key, decrypted; plaintext passes through */
  fromStorage(key: string, stored: string): string {
    if (!stored.startsWith(ENC_MARK)) return stored;
    if (!stored.startsWith(AESGCM_PREFIX)) {
      throw new DecryptionError(
        key,
        `no provider for prefix ${JSON.stringify(stored.slice(0, stored.indexOf(':', ENC_MARK.length) + 1 || ENC_MARK.length))}`,
      );
    }
    const colon = stored.indexOf(':', AESGCM_PREFIX.length);
    if (colon < 0) throw new DecryptionError(key, 'malformed encrypted value: no key name');
    const name = stored.slice(AESGCM_PREFIX.length, colon);
    const k = this.keys.get(name);
    if (!k) throw new DecryptionError(key, `no encryption key named "${name}" (aesgcm) in ${KEYRING_FILE}`);
    const body = Buffer.from(stored.slice(colon + 1), 'base64');
    if (body.length < NONCE_LEN + TAG_LEN) throw new DecryptionError(key, 'malformed encrypted value: too short');
    try {
      const d = createDecipheriv(gcm(k), k.secret, body.subarray(0, NONCE_LEN));
      d.setAAD(Buffer.from(key, 'utf8'));
      d.setAuthTag(body.subarray(body.length - TAG_LEN));
      return Buffer.concat([d.update(body.subarray(NONCE_LEN, body.length - TAG_LEN)), d.final()]).toString('utf8');
    } catch {
      throw new DecryptionError(key, `aesgcm decryption with key "${name}" failed: message authentication failed`);
    }
  }

  /** is the stored value in the form this store writes now (nothing to rewrite)? */
  private current(key: string, stored: string): boolean {
    if (!this.encrypt || !this.primary || !this.shouldEncrypt(key)) return !stored.startsWith(ENC_MARK);
    return stored.startsWith(`${AESGCM_PREFIX}${this.primary.name}:`);
  }

  private kv(kv: KV): KV {
    return { ...kv, value: this.fromStorage(kv.key, kv.value) };
  }

  private event(ev: StoreEvent): StoreEvent {
    const value = this.fromStorage(ev.key, ev.value);
    const prevValue =
      ev.prevValue === undefined
        ? undefined
        : ev.prevValue === ev.value
          ? value
          : this.fromStorage(ev.key, ev.prevValue);
    // nothing encrypted (all but Secrets): the backend's own event, the same object for
    // every watcher, so the API layer decodes it once for all of them (api/storage.ts)
    if (value === ev.value && prevValue === ev.prevValue) return ev;
    const out: StoreEvent = { ...ev, value };
    if (prevValue !== undefined) out.prevValue = prevValue;
    return out;
  }

  // ---------- Store ----------

  async get(key: string): Promise<KV | undefined> {
    const kv = await this.inner.get(key);
    return kv && this.kv(kv);
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    const r = await this.inner.list(prefix, opts);
    return { ...r, items: r.items.map((kv) => this.kv(kv)) };
  }

  async create(key: string, value: string): Promise<KV> {
    const kv = await this.inner.create(key, this.toStorage(key, value));
    return { ...kv, value };
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KV> {
    const kv = await this.inner.update(key, this.toStorage(key, value), expectedRevision);
    return { ...kv, value };
  }

  async delete(key: string, expectedRevision?: number): Promise<KV> {
    return this.kv(await this.inner.delete(key, expectedRevision));
  }

  /**
   * A value that cannot be decrypted ends the watch, as kube-apiserver's etcd watcher
   * does: the events before it are delivered, then the watch is cancelled and onError
   * gets the DecryptionError. Nothing is thrown into the backend's delivery.
   */
  async watch(
    prefix: string,
    fromRevision: number,
    cb: WatchCallback,
    onError?: (err: Error) => void,
    trigger?: WatchTrigger,
  ): Promise<Watch> {
    let stopped = false;
    let inner: Watch | undefined;
    const fail = (err: Error) => {
      if (stopped) return;
      stopped = true;
      inner?.cancel();
      onError?.(err);
    };
    const wrapped: WatchCallback = (events) => {
      if (stopped) return;
      const out: StoreEvent[] = [];
      let err: Error | undefined;
      for (const ev of events) {
        try {
          out.push(this.event(ev));
        } catch (e) {
          err = e as Error;
          break;
        }
      }
      if (out.length) cb(out);
      if (err) fail(err);
    };
    // the trigger sees the backend's events: one it cannot read (encrypted) is delivered to all
    inner = await this.inner.watch(prefix, fromRevision, wrapped, fail, trigger);
    if (stopped) inner.cancel();
    return {
      cancel: () => {
        stopped = true;
        inner?.cancel();
      },
    };
  }

  get syncWatch(): boolean | undefined {
    return this.inner.syncWatch;
  }
  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }
  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }
  compact(revision: number): Promise<number> {
    return this.inner.compact(revision);
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Rewrite every value under prefix that is not in the form written now: plaintext or
   * under an older key while encrypting (rotation), encrypted while not (disabling).
   * Compare-and-swap per object: one changed meanwhile was written by this store anyway.
   * Values that cannot be decrypted are left alone and counted.
   */
  async rewriteAll(
    prefix = SECRETS_PREFIX,
    pageSize = 500,
  ): Promise<{ rewritten: number; failed: { key: string; error: string }[] }> {
    let rewritten = 0;
    const failed: { key: string; error: string }[] = [];
    let startAfter = '';
    for (;;) {
      const page = await this.inner.list(prefix, { limit: pageSize, startAfter });
      const writes: Promise<void>[] = [];
      for (const kv of page.items) {
        if (this.current(kv.key, kv.value)) continue;
        let plain: string;
        try {
          plain = this.fromStorage(kv.key, kv.value);
        } catch (e) {
          failed.push({ key: kv.key, error: (e as Error).message });
          continue;
        }
        // issued together: the sqlite backend commits them as one transaction
        writes.push(
          this.inner.update(kv.key, this.toStorage(kv.key, plain), kv.modRevision).then(
            () => {
              rewritten++;
            },
            (e) => {
              if (!(e instanceof StaleRevisionError) && !(e instanceof KeyNotFoundError)) throw e;
            },
          ),
        );
      }
      await Promise.all(writes);
      if (!page.more || !page.items.length) break;
      startAfter = page.items[page.items.length - 1]!.key;
    }
    return { rewritten, failed };
  }
}

// ---------- the keyring file ----------

function keyName(now = new Date()): string {
  return `aesgcm-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
}

/** the text of a new keyring file: one random 32-byte key */
export function newKeyringText(): string {
  return JSON.stringify({ keys: [{ name: keyName(), secret: randomBytes(32).toString('base64') }] }, null, 2) + '\n';
}

function parseKeyring(path: string, text: string): EncryptionKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON: ${(e as Error).message}`);
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new Error(`${path}: want {"keys": [{"name": ..., "secret": <base64>}, ...]} with at least one key`);
  return keys.map((k: unknown, i) => {
    const { name, secret } = (k ?? {}) as { name?: unknown; secret?: unknown };
    if (typeof name !== 'string' || typeof secret !== 'string')
      throw new Error(`${path}: keys[${i}] wants string name and secret`);
    return { name, secret: Buffer.from(secret, 'base64') };
  });
}

/**
 * Read <dataDir>/encryption-config.json; when missing and `create`, write one with a new
 * random 32-byte key (mode 0600). Missing and not `create`: no keys.
 */
export function loadKeyring(dataDir: string, create: boolean, log?: Logger): EncryptionKey[] {
  const path = join(dataDir, KEYRING_FILE);
  if (!existsSync(path)) {
    if (!create) return [];
    const text = newKeyringText();
    try {
      writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
      const keys = parseKeyring(path, text);
      log?.info({ path, key: keys[0]!.name }, 'generated secrets encryption key');
      return keys;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if ((statSync(path).mode & 0o077) !== 0)
    log?.warn({ path }, 'secrets encryption key file is readable by group/others; chmod 600 it');
  return parseKeyring(path, readFileSync(path, 'utf8'));
}

/**
 * Wrap a store for skiff-server: load (or make) the keyring in dataDir, then bring every
 * Secret to the current form (under the first key; plaintext when disabled).
 */
export async function openEncryptedStore(
  inner: Store,
  dataDir: string,
  opts: { enabled?: boolean; log?: Logger } = {},
): Promise<EncryptingStore> {
  const enabled = opts.enabled ?? true;
  const store = new EncryptingStore(inner, { keys: loadKeyring(dataDir, enabled, opts.log), encrypt: enabled });
  const { rewritten, failed } = await store.rewriteAll();
  if (rewritten)
    opts.log?.info(
      { rewritten, encrypted: enabled },
      enabled ? 'secrets re-encrypted with the current key' : 'secrets decrypted (secrets encryption disabled)',
    );
  for (const f of failed) opts.log?.error({ key: f.key, error: f.error }, 'secret cannot be decrypted; left as is');
  return store;
}
