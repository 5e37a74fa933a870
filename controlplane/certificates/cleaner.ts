// The CSR cleaner (pkg/controller/certificates/cleaner): requests pile up, so every hour
// those that are done are deleted — Approved with a certificate, Denied or Failed for more
// than an hour (by the condition's lastUpdateTime), Pending (no condition) for more than
// a day since creation, and any whose issued certificate has expired.
import { X509Certificate } from 'node:crypto';
import type { KubeObject } from '../../proto/meta.js';
import { firstPemBlock } from './pkcs10.js';
import { bytesOf, conditionsOf } from './validation.js';

export const CLEANER_INTERVAL_MS = 3600_000;
const APPROVED_MS = 3600_000;
const DENIED_MS = 3600_000;
const FAILED_MS = 3600_000;
const PENDING_MS = 24 * 3600_000;

function olderThan(ts: unknown, ms: number, now: number): boolean {
  const t = typeof ts === 'string' ? Date.parse(ts) : NaN;
  return !Number.isNaN(t) && now - t > ms;
}

function certificateNotAfter(csr: KubeObject): number | undefined {
  const pem = bytesOf((csr.status as { certificate?: unknown } | undefined)?.certificate);
  if (!pem.length) return undefined;
  const block = firstPemBlock(pem.toString('latin1'));
  if (!block) return undefined;
  try {
    return Date.parse(new X509Certificate(block.der).validTo);
  } catch {
    return undefined;
  }
}

/** why the cleaner deletes this request now, or undefined to keep it */
export function cleanReason(csr: KubeObject, now: number): string | undefined {
  const conds = conditionsOf(csr) as { type?: unknown; lastUpdateTime?: unknown }[];
  const issued = !!(csr.status as { certificate?: unknown } | undefined)?.certificate;
  const notAfter = certificateNotAfter(csr);
  for (const c of conds) {
    if (c.type === 'Approved' && issued && olderThan(c.lastUpdateTime, APPROVED_MS, now))
      return 'approved and issued more than 1h ago';
    if (c.type === 'Denied' && olderThan(c.lastUpdateTime, DENIED_MS, now)) return 'denied more than 1h ago';
    if (c.type === 'Failed' && olderThan(c.lastUpdateTime, FAILED_MS, now)) return 'failed more than 1h ago';
  }
  if (!conds.length && olderThan(csr.metadata.creationTimestamp, PENDING_MS, now)) return 'pending for more than 24h';
  if (issued && conds.some((c) => c.type === 'Approved') && notAfter !== undefined && now > notAfter)
    return 'its certificate has expired';
  return undefined;
}
