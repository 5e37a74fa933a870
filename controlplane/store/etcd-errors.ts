// How an etcd failure leaves the API: the etcd backend turns what the etcd3 client throws
// into the Kubernetes Status a client can act on. A datastore that cannot be reached is
// 503 ServiceUnavailable, one that does not answer in time (no quorum, overloaded) is 504
// Timeout, both with Retry-After; a value past etcd's request limit is 413. Everything
// else (a bug) stays an ordinary error and becomes a 500.
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { ApiError } from '../api/errors.js';

/** etcd's default --max-request-bytes (1.5 MiB) */
export const ETCD_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export class DatastoreUnavailableError extends ApiError {
  constructor(detail: string) {
    super(503, 'ServiceUnavailable', `the datastore (etcd) is unavailable: ${detail}`, { retryAfterSeconds: 1 });
  }
}

export class DatastoreTimeoutError extends ApiError {
  constructor(detail: string) {
    super(504, 'Timeout', `Timeout: the datastore (etcd) did not answer in time: ${detail}`, { retryAfterSeconds: 1 });
  }
}

export class ValueTooLargeError extends ApiError {
  constructor(key: string, bytes: number, limit: number) {
    super(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: the object at ${key} is ${bytes} bytes, more than etcd accepts in one request (${limit} bytes, etcd's --max-request-bytes)`,
    );
  }
}

/** etcd's own message for a revision below its compaction */
export const isCompactedMessage = (m: string) => m.includes('required revision has been compacted');
/** etcd's own message for a revision above its current one (e.g. after a restore from a snapshot) */
export const isFutureRevisionMessage = (m: string) => m.includes('required revision is a future revision');

/** the error to throw for what the etcd client threw; unknown errors pass through */
export function interpretEtcdError(err: unknown, endpoints: string): unknown {
  if (!(err instanceof Error) || err instanceof ApiError) return err;
  const name = err.constructor.name;
  const m = err.message;
  if (err instanceof GRPCDeadlineExceededError || /deadline exceeded|request timed out|timed out/i.test(m)) {
    return new DatastoreTimeoutError(`${endpoints}: ${m}`);
  }
  if (/request is too large|larger than max/i.test(m))
    return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: ${m}`);
  if (
    err instanceof GRPCUnavailableError ||
    name === 'BrokenCircuitError' ||
    name === 'GRPCCancelledError' ||
    name === 'ClientClosedError' ||
    /unavailable|no leader|leader changed|not capable|circuit breaker|ECONNREFUSED|No connection established/i.test(m)
  ) {
    // the etcd3 client's per-member circuit breaker: three failed calls in a row, then 5 s without trying
    const why = /circuit breaker/i.test(m) ? 'no member answered the last calls (retrying every 5 s)' : m;
    return new DatastoreUnavailableError(`${endpoints}: ${why}`);
  }
  return err;
}
