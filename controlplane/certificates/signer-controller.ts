// The csrsigning controller for kubernetes.io/kube-apiserver-client: watches
// CertificateSigningRequests and, once one is Approved (never Denied or Failed), checks it
// is valid for the signer (signer.ts; a Failed condition with reason
// SignerValidationFailure otherwise) and writes status.certificate, signed by the
// cluster's client CA — the CA the API's TLS port verifies client certificates against.
// Level-triggered: a restart signs whatever is approved and not yet issued. The CSR
// cleaner (cleaner.ts) runs on the same informer, hourly.
import type { Logger } from 'pino';
import '../security/pki.js'; // loads the Reflect polyfill @peculiar/x509 needs and sets its crypto provider
import * as x509 from '@peculiar/x509';
import type { KubeObject } from '../../proto/meta.js';
import type { ApiStorage } from '../api/storage.js';
import { rfc3339 } from '../api/storage.js';
import { Informer, keyOf } from '../controllers/informer.js';
import { WorkQueue } from '../controllers/work-queue.js';
import { certificateSigningRequest as def } from '../resources/certificate-signing-request.js';
import { issueCertificate, type ClientCa } from '../security/pki.js';
import { bytesOf } from './validation.js';
import { certificateDurationMs, keyUsages, planSigning, validity } from './signer.js';
import { firstPemBlock } from './pkcs10.js';
import { populateConditionTimestamps } from './conditions.js';
import { CLEANER_INTERVAL_MS, cleanReason } from './cleaner.js';

export const DEFAULT_SIGNING_DURATION_MS = 365 * 24 * 3600_000;

/** Sign the CSR's request (PEM bytes) as PermissiveSigningPolicy does: its subject and SANs, the usages, the lifetime */
export async function signRequest(
  ca: ClientCa,
  requestPem: Buffer,
  usages: string[],
  ttlMs: number,
  now = Date.now(),
): Promise<string> {
  const block = firstPemBlock(requestPem.toString('latin1'));
  if (!block || block.type !== 'CERTIFICATE REQUEST') throw new Error('PEM block type must be CERTIFICATE REQUEST');
  const csr = new x509.Pkcs10CertificateRequest(new Uint8Array(block.der));
  const caNotAfter = new x509.X509Certificate(ca.certPem).notAfter.getTime();
  const { notBefore, notAfter } = validity(now, ttlMs, caNotAfter);
  const { keyUsage, extKeyUsages } = keyUsages(usages);
  const sans = csr.getExtension('2.5.29.17') ?? undefined;
  return issueCertificate(ca, {
    subject: csr.subjectName,
    publicKey: csr.publicKey,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    keyUsage,
    extKeyUsages,
    sans: sans ? new x509.SubjectAlternativeNameExtension(sans.rawData) : undefined,
  });
}

export interface SignerOptions {
  storage: ApiStorage;
  ca: ClientCa;
  /** --cluster-signing-duration */
  durationMs?: number;
  log: Logger;
  /** how often the cleaner looks (1h, as Kubernetes) */
  cleanIntervalMs?: number;
}

export function startSignerController(o: SignerOptions): { stop(): void } {
  const name = 'csrsigning-kube-apiserver-client';
  const informer = new Informer(o.storage, def, o.log);
  const queue = new WorkQueue(200, 30_000);
  const enqueue = (obj: KubeObject) => {
    if (planSigning(obj).action !== 'none') queue.add(keyOf(obj));
  };
  informer.on({ add: enqueue, update: (_old, obj) => enqueue(obj) });

  const sync = async (key: string): Promise<void> => {
    const cur = informer.get(undefined, key);
    if (!cur) return;
    const plan = planSigning(cur);
    if (plan.action === 'none') return;
    const spec = (cur.spec ?? {}) as { request?: unknown; usages?: unknown; expirationSeconds?: unknown };
    let certificate: string | undefined;
    if (plan.action === 'sign') {
      const ttl = certificateDurationMs(spec.expirationSeconds, o.durationMs ?? DEFAULT_SIGNING_DURATION_MS);
      certificate = Buffer.from(
        await signRequest(o.ca, bytesOf(spec.request), (spec.usages as string[]) ?? [], ttl),
      ).toString('base64');
    }
    await o.storage.guaranteedUpdate(
      def,
      undefined,
      cur.metadata.name!,
      { fieldManager: name },
      (latest) => {
        if (latest.metadata.uid !== cur.metadata.uid || planSigning(latest).action !== plan.action) return latest;
        const status = { ...(latest.status ?? {}) } as Record<string, unknown>;
        if (plan.action === 'fail') {
          const conditions = Array.isArray(status.conditions) ? [...status.conditions] : [];
          conditions.push({
            type: 'Failed',
            status: 'True',
            reason: 'SignerValidationFailure',
            message: plan.message,
            lastUpdateTime: rfc3339(new Date()),
          });
          status.conditions = conditions;
        } else status.certificate = certificate;
        const out = { ...latest, status };
        populateConditionTimestamps(out, latest, rfc3339(new Date()));
        return out;
      },
      'status',
    );
    o.log.info(
      { csr: key, action: plan.action },
      plan.action === 'sign' ? 'certificate issued' : 'certificate request failed',
    );
  };

  const clean = async (): Promise<void> => {
    for (const csr of informer.list()) {
      const why = cleanReason(csr, Date.now());
      if (!why) continue;
      try {
        await o.storage.delete(def, undefined, csr.metadata.name!, { preconditions: { uid: csr.metadata.uid } });
        o.log.info({ csr: csr.metadata.name, why }, 'certificate request cleaned');
      } catch (err) {
        o.log.warn({ err, csr: csr.metadata.name }, 'cannot clean certificate request');
      }
    }
  };

  let stopped = false;
  let cleaner: NodeJS.Timeout | undefined;
  void informer.start().then(
    () => {
      if (stopped) return;
      queue.run(sync, 1, (key, err) => o.log.warn({ err, csr: key }, 'cannot sign certificate request'));
      void clean();
      cleaner = setInterval(() => void clean(), o.cleanIntervalMs ?? CLEANER_INTERVAL_MS);
      cleaner.unref();
    },
    (err: unknown) => o.log.error({ err }, 'certificate signer did not start'),
  );
  return {
    stop() {
      stopped = true;
      if (cleaner) clearInterval(cleaner);
      informer.stop();
      queue.stop();
    },
  };
}
