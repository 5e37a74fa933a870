// The agent's reported pod status, checked at the gateway as the API checks a body sent to
// pods/status before anything is stored: the JSON decode against the PodStatus schema
// (proto/schema, a value of the wrong type is a 400 BadRequest, as kube-apiserver's decoder
// answers) and unknown fields dropped (the API's default fieldValidation). The pod
// registry's status validation then runs in the write itself (storage's validateStatus).
import type { PodStatus } from '../../proto/api/types.gen.js';
import type { KubeObject } from '../../proto/meta.js';
import { clone } from '../../proto/canonical.js';
import { badRequest } from '../api/errors.js';
import { checkBody } from '../api/field-validation.js';
import type { ResourceDef } from '../resources/types.js';

/**
 * The status the agent sent, checked and pruned (a copy; `status` is untouched), or an
 * ApiError 400 saying what is wrong. `warnings` collects the unknown fields dropped.
 */
export function checkReportedPodStatus(podDef: ResourceDef, status: unknown, warnings: string[] = []): PodStatus {
  if (typeof status !== 'object' || status === null || Array.isArray(status))
    throw badRequest('pod status must be an object');
  const body: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: {}, status: clone(status) };
  checkBody(podDef, body, { fieldValidation: 'Warn', warnings });
  return body.status as PodStatus;
}
