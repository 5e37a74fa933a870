// The Success Status a registry object's write returns (metav1.Status with status Success),
// as kube-apiserver answers a Binding or an Eviction.
import type { Status } from '../../proto/meta.js';

export function successStatus(code: number): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
}
