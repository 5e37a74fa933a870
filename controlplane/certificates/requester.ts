// The requesting user and the write path (create, /approval) of a CertificateSigningRequest
// write, for the kind's hooks: PrepareForCreate fills spec.username/uid/groups/extra from
// the user as kube-apiserver's strategy does (whatever the client sent), and validation
// allows Approved/Denied only through /approval. The REST routes of the kind
// (certificates/routes.ts) run its writes inside `asCsrRequester`. AsyncLocalStorage
// slows every promise while enabled (see authz/escalation.ts), so it is enabled only
// while such a write is in flight.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../api/auth.js';

export interface CsrRequest { user: UserInfo; approval?: boolean }

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
