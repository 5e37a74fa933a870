// Docker's failures as RuntimeErrors: the Engine API's status codes and docker-modem's
// connection errors mapped to the runtime's reasons, with Docker's own message. Every call
// the Docker plumbing makes goes through `call` (or toRuntimeError), so no Docker error
// shape leaves agent/runtime.

import { RuntimeError } from './errors.js';

/** What docker-modem rejects with: an HTTP status and body, or a socket error code. */
interface DockerError {
  statusCode?: number;
  json?: unknown;
  message?: string;
  code?: string;
}

function asDockerError(e: unknown): DockerError {
  return e !== null && typeof e === 'object' ? (e as DockerError) : {};
}

/** The Engine API's HTTP status of a failed call, if it got one (304: nothing to do). */
export function dockerStatus(e: unknown): number | undefined {
  const s = asDockerError(e).statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Docker's own message, without docker-modem's "(HTTP code 404) no such container - " prefix. */
export function dockerMessage(e: unknown): string {
  const err = asDockerError(e);
  const j = err.json;
  if (j && typeof j === 'object' && !Buffer.isBuffer(j) && 'message' in j && typeof j.message === 'string') {
    return j.message.trim();
  }
  if (typeof j === 'string' && j.trim()) return j.trim();
  const msg = typeof err.message === 'string' ? err.message : String(e);
  const m = /^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(msg);
  return (m ? m[1] : msg).trim();
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EPIPE',
  'ECONNRESET',
  'EACCES',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

export function toRuntimeError(e: unknown, context?: string): RuntimeError {
  if (e instanceof RuntimeError) return e;
  const err = asDockerError(e);
  const msg = dockerMessage(e);
  const withContext = (m: string) => (context ? `${context}: ${m}` : m);
  switch (err.statusCode) {
    case 404:
      return new RuntimeError('NotFound', msg, 404, { cause: e });
    case 409:
      return new RuntimeError('Conflict', msg, 409, { cause: e });
    case 400:
      return new RuntimeError('InvalidArgument', msg, 400, { cause: e });
  }
  if (err.code && UNAVAILABLE_CODES.has(err.code)) {
    return new RuntimeError('Unavailable', withContext(`cannot reach Docker: ${msg}`), undefined, { cause: e });
  }
  return new RuntimeError('RuntimeError', withContext(msg), err.statusCode, { cause: e });
}

/** Run one Docker call; its failure comes back as a RuntimeError naming `context`. */
export async function call<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toRuntimeError(e, context);
  }
}
