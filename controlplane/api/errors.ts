// One catalogue of API errors, mirroring apimachinery's pkg/api/errors: every
// failure leaves the API as a Kubernetes Status object so kubectl prints it as users expect.
import type { Status, StatusCause } from '../../proto/meta.js';

export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: Status['details'],
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  /** the Status, its fields in kube-apiserver's order (kind … reason, details, code) */
  toStatus(): Status {
    const { details } = this;
    return details
      ? {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: this.message,
          reason: this.reason,
          details,
          code: this.code,
        }
      : {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: this.message,
          reason: this.reason,
          code: this.code,
        };
  }

  /** the response body byte for byte as kube-apiserver's JSON encoder writes it (trailing newline) */
  body(): string {
    return `${JSON.stringify(this.toStatus())}\n`;
  }
}

/** `pods "x" not found` — resource is the plural (kubectl prints it so), group adds `.apps` etc. */
export function notFound(resource: string, name: string, group = ''): ApiError {
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(404, 'NotFound', `${qualified} "${name}" not found`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

export function alreadyExists(resource: string, name: string, group = ''): ApiError {
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(409, 'AlreadyExists', `${qualified} "${name}" already exists`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

export function conflict(resource: string, name: string, why: string, group = ''): ApiError {
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified} "${name}": ${why}`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid: `Pod "x" is invalid: spec.containers: Required value` (causes joined as apimachinery does). */
export function invalid(kind: string, name: string, causes: StatusCause[], group = ''): ApiError {
  const qualified = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : `${c.message}`));
  const msg =
    parts.length === 1
      ? `${qualified} "${name}" is invalid: ${parts[0]}`
      : `${qualified} "${name}" is invalid: [${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', msg, { name, group: group || undefined, kind, causes });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function forbidden(message: string, resource?: string, name?: string): ApiError {
  return new ApiError(403, 'Forbidden', message, resource ? { name, kind: resource } : undefined);
}

export function unauthorized(message = 'Unauthorized'): ApiError {
  return new ApiError(401, 'Unauthorized', message);
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function methodNotSupported(resource: string, verb: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${resource}"`, {
    kind: resource,
  });
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${contentType})`,
  );
}

export function notAcceptable(message: string): ApiError {
  return new ApiError(406, 'NotAcceptable', message);
}

export function tooManyRequests(message: string, retryAfterSeconds = 1): ApiError {
  return new ApiError(429, 'TooManyRequests', message, { retryAfterSeconds });
}

export function internal(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}

/** Field error helpers (apimachinery's field.Required/Invalid/...), for resources/ validators. */
export const field = {
  required: (path: string, detail = ''): StatusCause => ({
    reason: 'FieldValueRequired',
    message: detail ? `Required value: ${detail}` : 'Required value',
    field: path,
  }),
  invalid: (path: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
    field: path,
  }),
  notSupported: (path: string, value: unknown, valid: string[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${valid.map((v) => `"${v}"`).join(', ')}`,
    field: path,
  }),
  duplicate: (path: string, value: unknown): StatusCause => ({
    reason: 'FieldValueDuplicate',
    message: `Duplicate value: ${JSON.stringify(value)}`,
    field: path,
  }),
  forbidden: (path: string, detail: string): StatusCause => ({
    reason: 'FieldValueForbidden',
    message: `Forbidden: ${detail}`,
    field: path,
  }),
  tooLong: (path: string, value: unknown, max: number): StatusCause => ({
    reason: 'FieldValueTooLong',
    message: `Too long: may not be more than ${max} bytes`,
    field: path,
  }),
};
