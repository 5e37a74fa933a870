// Kubernetes' metav1.Time on the wire: RFC 3339 in UTC with whole seconds
// ("2026-12-06T04:00:00Z"), the one formatter for every side.
export function rfc3339(t: Date | number = Date.now()): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
