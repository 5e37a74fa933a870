// TLS for the ingress proxy: which certificate answers a TLS hello (SNI), from the
// kubernetes.io/tls Secrets the Ingresses' spec.tls sections name, and the default
// certificate for everything else (self-signed, made once and kept in the agent's data dir,
// like Traefik's default certificate).
// Lookup: the exact server name, then `*.` + its parent (a wildcard host in tls.hosts), else
// the default. A tls entry without hosts covers the hosts of its Ingress' rules.
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill first
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as x509 from '@peculiar/x509';
import type { NetIngress, NetIngressCert } from '../../proto/agent-protocol.js';
import { normalizeHost } from './router.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface KeyPair {
  cert: string;
  key: string;
}

/** server name → key pair, pure: the first Ingress (namespace/name order) naming a host wins */
export function certificateMap(
  ingresses: readonly NetIngress[],
  certs: readonly NetIngressCert[],
): Map<string, KeyPair> {
  const byName = new Map(certs.map((c) => [`${c.namespace}/${c.name}`, c]));
  const out = new Map<string, KeyPair>();
  const sorted = [...ingresses].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  for (const ing of sorted) {
    for (const t of ing.tls ?? []) {
      if (!t.secretName) continue;
      const c = byName.get(`${ing.namespace}/${t.secretName}`);
      if (!c) continue;
      const hosts = t.hosts.length ? t.hosts : ing.rules.map((r) => r.host ?? '').filter(Boolean);
      for (const h of hosts) {
        const host = h.toLowerCase();
        if (!out.has(host)) out.set(host, { cert: c.cert, key: c.key });
      }
    }
  }
  return out;
}

/** the map key that serves a server name: exact, then its one-label wildcard */
export function lookupName(names: { has(k: string): boolean }, serverName: string): string | undefined {
  const n = normalizeHost(serverName);
  if (names.has(n)) return n;
  const dot = n.indexOf('.');
  if (dot > 0 && names.has(`*${n.slice(dot)}`)) return `*${n.slice(dot)}`;
  return undefined;
}

/** secure contexts per key pair, reused across table swaps while the key pair is the same */
export class ContextCache {
  private cache = new Map<string, SecureContext>();

  contexts(map: Map<string, KeyPair>, onError: (host: string, err: Error) => void): Map<string, SecureContext> {
    const next = new Map<string, SecureContext>();
    const out = new Map<string, SecureContext>();
    for (const [host, kp] of map) {
      const id = createHash('sha256').update(kp.cert).update('\0').update(kp.key).digest('hex');
      let ctx = next.get(id) ?? this.cache.get(id);
      if (!ctx) {
        try {
          ctx = createSecureContext({ cert: kp.cert, key: kp.key });
        } catch (err) {
          onError(host, err as Error);
          continue;
        }
      }
      next.set(id, ctx);
      out.set(host, ctx);
    }
    this.cache = next;
    return out;
  }
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** `<dataDir>/ingress/default.{crt,key}`: made on first use, self-signed, ten years */
export async function defaultCertificate(dataDir: string, nodeName: string): Promise<KeyPair> {
  const dir = join(dataDir, 'ingress');
  const certPath = join(dir, 'default.crt');
  const keyPath = join(dir, 'default.key');
  if (existsSync(certPath) && existsSync(keyPath))
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=skiff ingress default certificate, O=${nodeName.replace(/[,=+<>#;"\\]/g, '-')}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 10 * 365 * 24 * 3600_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
  const pair = { cert: `${cert.toString('pem')}\n`, key };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, pair.key, { mode: 0o600 });
  writeFileSync(certPath, pair.cert);
  return pair;
}
