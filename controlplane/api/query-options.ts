// The query parameters of a REST request as kube-apiserver reads them: one value of a
// repeated parameter (the last), booleans, int64s as strconv.ParseInt, dryRun, and the
// write's options (CreateOptions/UpdateOptions/PatchOptions) with their validation; the
// Warning headers a write sends back. Shared by the resource verbs and the subresources.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { queryBool } from '../../proto/query-bool.js';
import { auditAnnotationsOf } from '../audit/hooks.js';
import { badRequest, field, invalid } from './errors.js';
import { parseFieldValidation } from './field-validation.js';
import type { WriteOptions } from './storage.js';

/** a request's parsed query string (fastify's querystring parser) */
export type Query = Record<string, string | string[] | undefined>;

export function one(q: Query, k: string): string | undefined {
  const v = q[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function bool(q: Query, k: string): boolean {
  return queryBool(one(q, k));
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An int64 query parameter (limit, timeoutSeconds, gracePeriodSeconds), parsed as Go's
 * strconv.ParseInt(v, 10, 64) does for kube-apiserver: decimal digits with an optional
 * sign, inside int64; anything else (`1e20`, `1.5`, `0x10`) is a 400. Values past
 * ±(2^53-1) are clamped there: every such value means "practically forever".
 */
export function intParam(q: Query, k: string): number | undefined {
  const v = one(q, k);
  if (v === undefined || v === '') return undefined;
  if (!/^[+-]?[0-9]+$/.test(v))
    throw badRequest(
      `${k}: Invalid value: ${JSON.stringify(v)}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`,
    );
  const b = BigInt(v);
  if (b < INT64_MIN || b > INT64_MAX)
    throw badRequest(
      `${k}: Invalid value: ${JSON.stringify(v)}: strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`,
    );
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Number(b)));
}

export function dryRun(q: Query): boolean {
  const v = q.dryRun;
  const vals = Array.isArray(v) ? v : v !== undefined ? [v] : [];
  for (const x of vals)
    if (x !== 'All') throw badRequest(`Invalid dryRun value: ${JSON.stringify(x)}: supported values: "All"`);
  return vals.length > 0;
}

/** the write's options from its query; with the request, admission may annotate its audit event */
export function writeOptions(q: Query, req?: FastifyRequest): WriteOptions {
  const opts: WriteOptions = {
    dryRun: dryRun(q),
    fieldValidation: parseFieldValidation(one(q, 'fieldValidation')),
    fieldManager: one(q, 'fieldManager'),
    warnings: [],
  };
  if (req) opts.userAgent = req.headers['user-agent'] ?? ''; // the default field manager (managedFields)
  if (one(q, 'force') === 'true') opts.force = true;
  const annotations = req && auditAnnotationsOf(req);
  if (annotations) opts.auditAnnotations = annotations;
  return opts;
}

/**
 * ValidatePatchOptions (apimachinery): `force` only with an apply patch (any value counts,
 * as a non-nil pointer does upstream); an apply patch names its field manager. 422 before
 * anything is read.
 */
export function checkPatchOptions(type: string, q: Query, opts: WriteOptions): void {
  if (type !== 'apply' && q.force !== undefined)
    throw invalid(
      'PatchOptions',
      '',
      [field.forbidden('force', 'may not be specified for non-apply patch')],
      'meta.k8s.io',
    );
  if (type === 'apply' && !opts.fieldManager)
    throw invalid('PatchOptions', '', [field.required('fieldManager', 'is required for apply patch')], 'meta.k8s.io');
}

export function sendWarnings(reply: FastifyReply, opts: WriteOptions): void {
  if (!opts.warnings?.length) return;
  const prev = reply.getHeader('Warning');
  const earlier = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
  reply.header('Warning', [...earlier, ...opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`)]);
}
