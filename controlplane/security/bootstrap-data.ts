// What every server of one cluster must hold the same (k3s' "bootstrap data"): the files
// of the data dir below, by their path in it. The serving certificate is not among them:
// each server issues its own, for its own addresses, from the shared CA (pki.ts). The
// planner (planBootstrap) is pure; reading, making and writing the files are the acts.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { newCaPem, newSecret } from './pki.js';
import { KEY_FILE as SA_KEY_FILE, newSigningKeyPem } from '../serviceaccount/jwt.js';
import { KEYRING_FILE, newKeyringText } from '../store/encrypting-store.js';

export const BOOTSTRAP_FILES = [
  'tls/server-ca.crt',
  'tls/server-ca.key',
  'tls/client-ca.crt',
  'tls/client-ca.key',
  SA_KEY_FILE,
  KEYRING_FILE,
  'admin-token',
  'join-secret',
] as const;
export type BootstrapFile = (typeof BOOTSTRAP_FILES)[number];
export type BootstrapFiles = Partial<Record<BootstrapFile, string>>;

export const JOIN_SECRET_FILE = 'join-secret';

/** the files of BOOTSTRAP_FILES that exist in dataDir */
export function readBootstrapFiles(dataDir: string): BootstrapFiles {
  const out: BootstrapFiles = {};
  for (const f of BOOTSTRAP_FILES) {
    const p = join(dataDir, f);
    if (existsSync(p)) out[f] = readFileSync(p, 'utf8');
  }
  return out;
}

/** Every bootstrap file: the ones given, the missing ones made new (joinSecret: the token's passphrase, if one was chosen). */
export async function completeBootstrapFiles(
  have: BootstrapFiles,
  joinSecret?: string,
): Promise<Required<BootstrapFiles>> {
  const out = { ...have };
  for (const [cn, cert, key] of [
    ['skiff-server-ca', 'tls/server-ca.crt', 'tls/server-ca.key'],
    ['skiff-client-ca', 'tls/client-ca.crt', 'tls/client-ca.key'],
  ] as const) {
    // a CA is its certificate with its key: half of one is made anew, as pki.ts does
    if (out[cert] !== undefined && out[key] !== undefined) continue;
    const ca = await newCaPem(cn);
    out[cert] = ca.certPem;
    out[key] = ca.keyPem;
  }
  out[SA_KEY_FILE] ??= newSigningKeyPem();
  out[KEYRING_FILE] ??= newKeyringText();
  out['admin-token'] ??= newSecret() + '\n';
  out['join-secret'] ??= (joinSecret ?? newSecret()) + '\n';
  return out as Required<BootstrapFiles>;
}

/** tokens compare without their line end; every file without trailing white space */
export function sameContent(a: string, b: string): boolean {
  return a.trimEnd() === b.trimEnd();
}

export interface BootstrapPlan {
  /** missing in the data dir: write them from the datastore */
  write: BootstrapFile[];
  /** present in the data dir with other content than the datastore's: refuse to start */
  conflicts: BootstrapFile[];
}

/** What a server with `local` in its data dir does with the cluster's `stored` bootstrap data. */
export function planBootstrap(local: BootstrapFiles, stored: BootstrapFiles): BootstrapPlan {
  const plan: BootstrapPlan = { write: [], conflicts: [] };
  for (const f of BOOTSTRAP_FILES) {
    const want = stored[f];
    if (want === undefined) continue;
    const have = local[f];
    if (have === undefined) plan.write.push(f);
    else if (!sameContent(have, want)) plan.conflicts.push(f);
  }
  return plan;
}

/** the serialized form sealed into the datastore */
export function encodeBootstrapFiles(files: BootstrapFiles): string {
  return JSON.stringify({ files });
}

export function decodeBootstrapFiles(text: string): BootstrapFiles {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('bootstrap data in the datastore is not JSON');
  }
  const files = (doc as { files?: unknown } | null)?.files;
  if (!files || typeof files !== 'object') throw new Error('bootstrap data in the datastore has no files');
  const out: BootstrapFiles = {};
  for (const f of BOOTSTRAP_FILES) {
    const v = (files as Record<string, unknown>)[f];
    if (typeof v === 'string') out[f] = v;
  }
  return out;
}

/** write the named files into dataDir: keys and tokens 0600, CA certificates public (0644) as pki.ts makes them; directories 0700 */
export function writeBootstrapFiles(dataDir: string, files: BootstrapFiles, which: readonly BootstrapFile[]): void {
  for (const f of which) {
    const content = files[f];
    if (content === undefined) continue;
    const p = join(dataDir, f);
    mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
    const mode = f.endsWith('.crt') ? 0o644 : 0o600;
    writeFileSync(p, content, { mode });
    chmodSync(p, mode);
  }
}
