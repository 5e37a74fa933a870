// Several servers on one datastore share the cluster's bootstrap data (bootstrap-data.ts),
// as k3s' pkg/cluster/storage.go does: before anything reads the data dir, a server on etcd
//  - finds /bootstrap/<hash of the token's passphrase>; the passphrase is the --token's
//    (--token-file's) secret, else this data dir's join-secret;
//  - found: decrypts it with the passphrase, refuses to start when a file of its data dir
//    differs ("... newer than datastore" in k3s), writes the missing files (keys 0600);
//  - not found while another /bootstrap/ key exists: the wrong token, refuse;
//  - nothing there: makes what the data dir lacks, seals it with the passphrase and
//    creates the key if absent (a transaction); a server that loses the race reads the
//    winner's; two servers racing with different tokens: the key created first wins on
//    every server, the other is removed and its server refuses to start.
// Refusals are BootstrapErrors (main.ts prints the message, exits 1) and write nothing.
// On SQLite the datastore is the data dir itself: --token only names the join secret.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { KeyExistsError, type KV, type Store } from '../store/types.js';
import { caHash, parseJoinToken, secretEquals } from './pki.js';
import {
  BOOTSTRAP_PREFIX,
  BootstrapDecryptError,
  bootstrapKey,
  openBootstrap,
  sealBootstrap,
} from './bootstrap-crypto.js';
import {
  BOOTSTRAP_FILES,
  JOIN_SECRET_FILE,
  completeBootstrapFiles,
  decodeBootstrapFiles,
  encodeBootstrapFiles,
  planBootstrap,
  readBootstrapFiles,
  writeBootstrapFiles,
  type BootstrapFiles,
} from './bootstrap-data.js';

/** a start refused for a reason the operator fixes (printed without a stack trace) */
export class BootstrapError extends Error {}

/** k3s' message for the wrong token */
const WRONG_TOKEN =
  "bootstrap data already found in the datastore and encrypted with a different token: start this server with the cluster's token (--token or --token-file: the first server's <data-dir>/token)";

/** the token of --token or --token-file, if any */
export function resolveToken(o: { token?: string; tokenFile?: string }): string | undefined {
  if (o.token !== undefined) return o.token.trim();
  if (o.tokenFile === undefined) return undefined;
  let t: string;
  try {
    t = readFileSync(o.tokenFile, 'utf8').trim();
  } catch (e) {
    throw new BootstrapError(`--token-file ${o.tokenFile}: ${(e as Error).message}`);
  }
  if (!validToken(t))
    throw new BootstrapError(
      `--token-file ${o.tokenFile}: want one token (K10<ca hash>::<user>:<secret>, or the secret alone) of printable characters without spaces`,
    );
  return t;
}

export function validToken(t: string): boolean {
  return /^[\x21-\x7e]{1,512}$/.test(t) && parseJoinToken(t).secret.length > 0;
}

export interface BootstrapOptions {
  dataDir: string;
  /** --token / --token-file, as given */
  token?: string;
  log?: Logger;
}

export interface BootstrapResult {
  /** this server sealed the cluster's bootstrap data into the datastore */
  created: boolean;
  /** files written into the data dir */
  written: string[];
}

function checkCaHash(given: { caHash?: string }, caPem: string | undefined, where: string): void {
  if (given.caHash === undefined || caPem === undefined) return;
  if (given.caHash !== caHash(caPem))
    throw new BootstrapError(
      `the token's CA hash (K10${given.caHash.slice(0, 12)}…) is not the cluster CA's in ${where}: this token belongs to another cluster`,
    );
}

/** The passphrase: the token's secret, else the data dir's join secret; a token that contradicts the data dir is refused. */
function passphraseOf(
  local: BootstrapFiles,
  token: string | undefined,
  dataDir: string,
): { secret?: string; caHash?: string } {
  const given = token !== undefined ? parseJoinToken(token) : undefined;
  const mine = local[JOIN_SECRET_FILE]?.trim();
  if (given && mine !== undefined && !secretEquals(given.secret, mine)) {
    throw new BootstrapError(
      `the token is not this data dir's (${join(dataDir, JOIN_SECRET_FILE)} holds another secret): give this server's own token, or start with an empty --data-dir to join with this one`,
    );
  }
  if (given) checkCaHash(given, local['tls/server-ca.crt'], dataDir);
  return { secret: given?.secret ?? mine, caHash: given?.caHash };
}

/** Take the cluster's bootstrap data from the datastore, or put it there first. */
export async function syncBootstrapData(store: Store, o: BootstrapOptions): Promise<BootstrapResult> {
  const local = readBootstrapFiles(o.dataDir);
  const given = passphraseOf(local, o.token, o.dataDir);
  let passphrase = given.secret;
  for (let attempt = 0; attempt < 3; attempt++) {
    const all = (await store.list(BOOTSTRAP_PREFIX)).items;
    if (passphrase === undefined && all.length) {
      throw new BootstrapError(
        "the datastore already holds a cluster's bootstrap data: start this server with that cluster's token (--token or --token-file: the first server's <data-dir>/token)",
      );
    }
    const found = passphrase !== undefined ? all.find((kv) => kv.key === bootstrapKey(passphrase!)) : undefined;
    if (found) return adopt(found, passphrase!, local, given, o);
    if (all.length) throw new BootstrapError(WRONG_TOKEN);

    // the first server: what the data dir lacks is made, sealed, created if still absent
    const full = await completeBootstrapFiles(local, passphrase);
    const secret = passphrase ?? full[JOIN_SECRET_FILE].trim();
    checkCaHash(
      given,
      full['tls/server-ca.crt'],
      "the bootstrap data this server would create (the datastore holds none: is it the first server's?)",
    );
    let mine: KV;
    try {
      mine = await store.create(bootstrapKey(secret), sealBootstrap(secret, encodeBootstrapFiles(full)));
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
      passphrase = secret;
      continue; // lost the race with the same token: read the winner's
    }
    // racing servers with different tokens: the key created first wins, on every server alike
    const keys = (await store.list(BOOTSTRAP_PREFIX)).items;
    const first = keys.reduce((a, b) => (b.createRevision < a.createRevision ? b : a), mine);
    if (first.key !== mine.key) {
      await store.delete(mine.key, mine.modRevision).catch(() => undefined);
      throw new BootstrapError(WRONG_TOKEN);
    }
    const plan = planBootstrap(local, full);
    const written = [...plan.write, ...plan.conflicts]; // a CA that was half there was made anew, both halves
    writeBootstrapFiles(o.dataDir, full, written);
    o.log?.info(
      { key: mine.key, written },
      'bootstrap data (CA, keys, tokens) stored in the datastore, encrypted with the token',
    );
    return { created: true, written };
  }
  throw new BootstrapError('bootstrap data: the datastore keeps changing under this server; try again');
}

function adopt(
  kv: KV,
  passphrase: string,
  local: BootstrapFiles,
  given: { caHash?: string },
  o: BootstrapOptions,
): BootstrapResult {
  let stored: BootstrapFiles;
  try {
    stored = decodeBootstrapFiles(openBootstrap(passphrase, kv.value));
  } catch (e) {
    if (e instanceof BootstrapDecryptError)
      throw new BootstrapError(`${kv.key}: ${e.message}: start this server with the cluster's token`);
    throw new BootstrapError(`${kv.key}: ${(e as Error).message}`);
  }
  const missing = BOOTSTRAP_FILES.filter((f) => stored[f] === undefined);
  if (missing.length)
    throw new BootstrapError(`${kv.key}: bootstrap data in the datastore lacks ${missing.join(', ')}`);
  checkCaHash(given, stored['tls/server-ca.crt'], 'the datastore');
  const plan = planBootstrap(local, stored);
  if (plan.conflicts.length) {
    throw new BootstrapError(
      `${plan.conflicts.map((f) => join(o.dataDir, f)).join(', ')} differ from the cluster's bootstrap data in the datastore ` +
        '(this data dir belongs to another cluster, or its keys were changed by hand) and could cause a cluster outage. ' +
        'Remove the file(s) from the data dir and restart to take them from the datastore.',
    );
  }
  writeBootstrapFiles(o.dataDir, stored, plan.write);
  if (plan.write.length)
    o.log?.info(
      { key: kv.key, written: plan.write },
      'joined the cluster: bootstrap data (CA, keys, tokens) taken from the datastore',
    );
  return { created: false, written: plan.write };
}

/** SQLite: the token names this data dir's join secret (written on first start, refused when it differs). */
export function applyTokenToDataDir(dataDir: string, token: string): boolean {
  const local = readBootstrapFiles(dataDir);
  const { secret } = passphraseOf(local, token, dataDir);
  if (local[JOIN_SECRET_FILE] !== undefined || secret === undefined) return false;
  writeBootstrapFiles(dataDir, { [JOIN_SECRET_FILE]: secret + '\n' }, [JOIN_SECRET_FILE]);
  return true;
}

/** At start-up, before the data dir's keys are read: etcd shares them; SQLite only takes the token's secret. */
export async function loadBootstrapData(
  backend: Store,
  cfg: { dataDir: string; datastore?: unknown; token?: string; tokenFile?: string },
  log?: Logger,
): Promise<void> {
  const token = resolveToken(cfg);
  if (cfg.datastore) await syncBootstrapData(backend, { dataDir: cfg.dataDir, token, log });
  else if (token !== undefined && applyTokenToDataDir(cfg.dataDir, token)) log?.info('join secret taken from --token');
}
