// The requesting user and the write path (create, /approval, /status) of a
// CertificateSigningRequest write, for the kind's hooks: PrepareForCreate fills
// spec.username/uid/groups/extra from the user as kube-apiserver's strategy does (whatever
// the client sent), validation allows Approved/Denied only through /approval, and a
// /status write that sets the certificate is admitted only for users who may `sign`. The REST routes of the kind
// (certificates/routes.ts) run its writes inside `asCsrRequester`. AsyncLocalStorage
// slows every promise while enabled (see authz/escalation.ts), so it is enabled only
// while such a write is in flight.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../api/auth.js';
import type { KubeObject } from '../../proto/meta.js';

export interface CsrRequest {
  user: UserInfo;
  /** the write arrives through /approval: Approved/Denied may change */
  approval?: boolean;
  /** admission on a /status write (CertificateSigning: `sign` on the signer to set the certificate); throws ApiError */
  admitStatus?: (next: KubeObject, old: KubeObject) => void;
}

const store = new AsyncLocalStorage<CsrRequest>();
let running = 0;

export async function asCsrRequester<T>(r: CsrRequest, fn: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await store.run(r, fn);
  } finally {
    if (--running === 0) store.disable();
  }
}

/** the write in flight, undefined for in-process writers (the signer controller) */
export function currentCsrRequest(): CsrRequest | undefined {
  return running ? store.getStore() : undefined;
}
