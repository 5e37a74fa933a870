// `skiff-server kubeconfig --user NAME [--group G]… [--expiry 720h] [--data-dir D] [--server URL]`:
// prints a kubeconfig for a new person — a fresh ECDSA key and a client certificate
// (CN = NAME, O = each group) signed directly by the cluster's client CA in the data dir,
// the way k3s hands out its own client certificates. Signing locally needs only read
// access to the data dir (root on the server: whoever may read the CA key may already do
// anything), works while the server is down and leaves no CSR to approve; the CSR API
// (kubectl certificate approve) is the path for a person who keeps their own key.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import '../security/pki.js'; // loads the Reflect polyfill @peculiar/x509 needs and sets its crypto provider
import * as x509 from '@peculiar/x509';
import { parseDuration } from '../../proto/duration.js';
import { issueCertificate, loadClientCa, newKeyPair } from '../security/pki.js';
import { validity } from './signer.js';

export interface UserKubeconfigOptions {
  user: string;
  groups: string[];
  expiryMs: number;
  dataDir: string;
  server?: string;
}

const q = (s: string): string => JSON.stringify(s);
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** the kubeconfig text: one cluster (the server CA pinned), one user with its certificate and key inline */
export function userKubeconfig(o: {
  server: string;
  serverCaPem: string;
  user: string;
  certPem: string;
  keyPem: string;
}): string {
  const ctx = `${o.user}@skiff`;
  return `apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: ${q(o.server)}
    certificate-authority-data: ${b64(o.serverCaPem)}
contexts:
- name: ${q(ctx)}
  context:
    cluster: skiff
    user: ${q(o.user)}
    namespace: default
current-context: ${q(ctx)}
users:
- name: ${q(o.user)}
  user:
    client-certificate-data: ${b64(o.certPem)}
    client-key-data: ${b64(o.keyPem)}
`;
}

/** the server URL admin.kubeconfig names (written by skiff-server at every start) */
function serverFromAdminKubeconfig(dataDir: string): string | undefined {
  const p = join(dataDir, 'admin.kubeconfig');
  if (!existsSync(p)) return undefined;
  return /^\s*server:\s*"?([^"\s]+)"?\s*$/m.exec(readFileSync(p, 'utf8'))?.[1];
}

/** a note for the person running the command when the URL only works on this machine */
export function loopbackNote(server: string): string | undefined {
  let host = '';
  try {
    host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
  if (host !== 'localhost' && !/^127\./.test(host) && host !== '::1') return undefined;
  return `note: the kubeconfig points at ${server}, which only works on this machine; for a teammate elsewhere pass --server https://<this server's address>:6443`;
}

export async function makeUserKubeconfig(o: UserKubeconfigOptions, now = Date.now()): Promise<string> {
  if (!o.user) throw new Error('--user must not be empty');
  const ca = await loadClientCa(o.dataDir);
  if (!ca)
    throw new Error(`no client CA in ${join(o.dataDir, 'tls')} (start skiff-server with this --data-dir once first)`);
  const serverCaPath = join(o.dataDir, 'tls', 'server-ca.crt');
  if (!existsSync(serverCaPath)) throw new Error(`no ${serverCaPath}`);
  const server = o.server ?? serverFromAdminKubeconfig(o.dataDir);
  if (!server) throw new Error('cannot tell the server URL: pass --server https://HOST:6443');
  const key = await newKeyPair();
  const caNotAfter = new x509.X509Certificate(ca.certPem).notAfter.getTime();
  const { notBefore, notAfter } = validity(now, o.expiryMs, caNotAfter);
  const subject: x509.JsonName = [{ CN: [o.user] }, ...o.groups.map((g) => ({ O: [g] }))];
  const certPem = await issueCertificate(ca, {
    subject: new x509.Name(subject),
    publicKey: key.publicKey,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
  });
  return userKubeconfig({
    server,
    serverCaPem: readFileSync(serverCaPath, 'utf8'),
    user: o.user,
    certPem,
    keyPem: key.keyPem,
  });
}

export function parseKubeconfigArgs(argv: string[]): UserKubeconfigOptions {
  const cmd = new Command('skiff-server kubeconfig')
    .description(
      "print a kubeconfig for a new user: a key and a client certificate (CN = user, O = groups) signed by the cluster's client CA",
    )
    .requiredOption('--user <name>', 'the user name (certificate CN), as RBAC bindings name it')
    .option(
      '--group <group>',
      'a group of the user (certificate O; repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--expiry <duration>', 'how long the certificate is valid (Go duration, e.g. 720h)', '8760h')
    .option('--data-dir <dir>', "the server's data dir (holds tls/client-ca.key)", '/var/lib/skiff/server')
    .option('--server <url>', 'API URL for the kubeconfig (default: the one in <data-dir>/admin.kubeconfig)')
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{ user: string; group: string[]; expiry: string; dataDir: string; server?: string }>();
  const expiryMs = parseDuration(o.expiry);
  if (!(expiryMs >= 600_000)) throw new InvalidArgumentError('--expiry must be at least 10m');
  return { user: o.user, groups: o.group, expiryMs, dataDir: o.dataDir, server: o.server };
}
