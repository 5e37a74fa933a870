// Certificates and tokens made on first start, kept in the data dir (k3s-style): a CA,
// a serving certificate whose SANs follow the flags (re-issued when they change), the
// client CA that users' certificates are signed by (tls/client-ca.{crt,key}, as k3s keeps
// its own), the admin bearer token with its kubeconfig, and the agents' join token
// `K10<sha256 of the CA PEM>::node:<secret>`, which lets an agent pin the CA.
// Map of the code base: ARCHITECTURE.md, "The parts".
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill loaded first
import { webcrypto, createHash, randomBytes, X509Certificate as NodeX509, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TEN_YEARS = 10 * 365 * 24 * 3600 * 1000;

export interface ServerPki {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** the CA that client certificates are verified against and signed by */
  clientCa: ClientCa;
  adminToken: string;
  joinToken: string;
  /** the secret part of the join token */
  joinSecret: string;
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as unknown as webcrypto.CryptoKey));
  const b64 = der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

export async function importKeyPem(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return (await webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), ALG, true, [
    'sign',
  ])) as unknown as CryptoKey;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

/** a new random token or secret: 48 hex characters */
export function newSecret(): string {
  return randomBytes(24).toString('hex');
}

export function caHash(caPem: string): string {
  return createHash('sha256').update(caPem).digest('hex');
}

/** constant-time string comparison for secrets */
export function secretEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseJoinToken(token: string): { caHash?: string; secret: string } {
  const m = /^K10([0-9a-f]{64})::(?:[^:]+:)?(.+)$/.exec(token.trim());
  if (m) return { caHash: m[1], secret: m[2]! };
  return { secret: token.trim() };
}

function sansOf(certPem: string): Set<string> {
  const alt = new NodeX509(certPem).subjectAltName ?? '';
  return new Set(
    alt
      .split(',')
      .map((s) =>
        s
          .trim()
          .replace(/^DNS:/, '')
          .replace(/^IP Address:/, ''),
      )
      .filter(Boolean),
  );
}

function issuedBy(certPem: string, caPem: string): boolean {
  try {
    const ca = new NodeX509(caPem);
    return new NodeX509(certPem).verify(ca.publicKey);
  } catch {
    return false;
  }
}

export function desiredSans(extra: string[]): string[] {
  const set = new Set([
    'localhost',
    '127.0.0.1',
    hostname(),
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    ...extra.filter(Boolean),
  ]);
  return [...set];
}

async function selfSignedCa(cn: string): Promise<{ pem: string; key: CryptoKey }> {
  const keys = await newKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${cn}@${Math.floor(Date.now() / 1000)}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + TEN_YEARS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { pem: ca.toString('pem') + '\n', key: keys.privateKey };
}

/** a new self-signed CA as PEM (certificate, PKCS#8 key): the cluster's shared bootstrap data (security/bootstrap-data.ts) */
export async function newCaPem(
  cn: 'skiff-server-ca' | 'skiff-client-ca',
): Promise<{ certPem: string; keyPem: string }> {
  const ca = await selfSignedCa(cn);
  return { certPem: ca.pem, keyPem: await exportKeyPem(ca.key) };
}

/** the client CA: users' certificates (CN = user, O = groups) are verified against it and issued by it */
export interface ClientCa {
  certPem: string;
  key: CryptoKey;
}

export function clientCaPaths(dataDir: string): { cert: string; key: string } {
  return { cert: join(dataDir, 'tls', 'client-ca.crt'), key: join(dataDir, 'tls', 'client-ca.key') };
}

/** Load <data-dir>/tls/client-ca.{crt,key}, creating them (key 0600) on first start. */
export async function ensureClientCa(dataDir: string): Promise<ClientCa> {
  mkdirSync(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
  const p = clientCaPaths(dataDir);
  if (existsSync(p.cert) && existsSync(p.key))
    return { certPem: readFileSync(p.cert, 'utf8'), key: await importKeyPem(readFileSync(p.key, 'utf8')) };
  const ca = await selfSignedCa('skiff-client-ca');
  writeSecret(p.key, await exportKeyPem(ca.key));
  writeFileSync(p.cert, ca.pem);
  return { certPem: ca.pem, key: ca.key };
}

/** Load an existing client CA (the kubeconfig command: it never creates one a server would not know) */
export async function loadClientCa(dataDir: string): Promise<ClientCa | undefined> {
  const p = clientCaPaths(dataDir);
  if (!existsSync(p.cert) || !existsSync(p.key)) return undefined;
  return { certPem: readFileSync(p.cert, 'utf8'), key: await importKeyPem(readFileSync(p.key, 'utf8')) };
}

export interface IssueRequest {
  /** the subject, as the request carries it (a PKCS#10's subject is kept as it is) */
  subject: x509.Name | string;
  publicKey: x509.PublicKey | CryptoKey;
  notBefore: Date;
  notAfter: Date;
  keyUsage: number;
  extKeyUsages: string[];
  /** SubjectAlternativeName copied from the request, if any */
  sans?: x509.SubjectAlternativeNameExtension;
}

/** Sign a leaf certificate with a CA (CreateCertificate with the CSR signer's template) */
export async function issueCertificate(ca: ClientCa, r: IssueRequest): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  if (r.keyUsage) extensions.push(new x509.KeyUsagesExtension(r.keyUsage, true));
  if (r.extKeyUsages.length) extensions.push(new x509.ExtendedKeyUsageExtension(r.extKeyUsages));
  if (r.sans) extensions.push(r.sans);
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: r.subject,
    issuer: caCert.subjectName,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    signingAlgorithm: ALG,
    publicKey: r.publicKey,
    signingKey: ca.key,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

/** a new ECDSA P-256 key pair: the private key as PKCS#8 PEM */
export async function newKeyPair(): Promise<{ keyPem: string; publicKey: CryptoKey }> {
  const keys = await newKeys();
  return { keyPem: await exportKeyPem(keys.privateKey), publicKey: keys.publicKey };
}

/** Load what exists in dataDir, create what does not; re-issue the serving cert when SANs are missing. */
export async function ensurePki(dataDir: string, sans: string[]): Promise<ServerPki> {
  const tlsDir = join(dataDir, 'tls');
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const caCertPath = join(tlsDir, 'server-ca.crt');
  const caKeyPath = join(tlsDir, 'server-ca.key');
  const certPath = join(tlsDir, 'serving.crt');
  const keyPath = join(tlsDir, 'serving.key');

  let caPem: string;
  let caKey: CryptoKey;
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    caPem = readFileSync(caCertPath, 'utf8');
    caKey = await importKeyPem(readFileSync(caKeyPath, 'utf8'));
  } else {
    const ca = await selfSignedCa('skiff-server-ca');
    caPem = ca.pem;
    caKey = ca.key;
    writeFileSync(caCertPath, caPem);
    writeSecret(caKeyPath, await exportKeyPem(caKey));
  }

  let certPem: string;
  let keyPem: string;
  // kept while it carries every SAN and was issued by this CA (a data dir that took another
  // server's CA from the datastore re-issues its own serving certificate)
  const current = existsSync(certPath) && existsSync(keyPath) ? readFileSync(certPath, 'utf8') : undefined;
  const have = current !== undefined && issuedBy(current, caPem) ? sansOf(current) : undefined;
  if (have && sans.every((s) => have.has(s))) {
    certPem = readFileSync(certPath, 'utf8');
    keyPem = readFileSync(keyPath, 'utf8');
  } else {
    const keys = await newKeys();
    const caCert = new x509.X509Certificate(caPem);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: 'CN=skiff-server',
      issuer: caCert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + TEN_YEARS),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s })),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    certPem = cert.toString('pem') + '\n' + caPem;
    keyPem = await exportKeyPem(keys.privateKey);
    writeFileSync(certPath, certPem);
    writeSecret(keyPath, keyPem);
  }

  const adminTokenPath = join(dataDir, 'admin-token');
  if (!existsSync(adminTokenPath)) writeSecret(adminTokenPath, newSecret() + '\n');
  const adminToken = readFileSync(adminTokenPath, 'utf8').trim();

  const joinSecretPath = join(dataDir, 'join-secret');
  if (!existsSync(joinSecretPath)) writeSecret(joinSecretPath, newSecret() + '\n');
  const joinSecret = readFileSync(joinSecretPath, 'utf8').trim();
  const joinToken = `K10${caHash(caPem)}::node:${joinSecret}`;
  writeSecret(join(dataDir, 'token'), joinToken + '\n');

  const clientCa = await ensureClientCa(dataDir);
  return { caPem, certPem, keyPem, clientCa, adminToken, joinToken, joinSecret };
}

export function adminKubeconfig(serverUrl: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: ${serverUrl}
    certificate-authority-data: ${ca}
contexts:
- name: skiff
  context:
    cluster: skiff
    user: admin
    namespace: default
current-context: skiff
users:
- name: admin
  user:
    token: ${token}
`;
}

export function writeKubeconfig(dataDir: string, serverUrl: string, pki: ServerPki): string {
  const path = join(dataDir, 'admin.kubeconfig');
  writeSecret(path, adminKubeconfig(serverUrl, pki.caPem, pki.adminToken));
  return path;
}
