// Boolean query parameters as kube-apiserver reads them (apimachinery's
// Convert_Slice_string_To_bool): absent, "0" and "false" in any case are false; any other
// value — "true", "True", "1", "t", even an empty `?watch=` — is true. Clients other than
// kubectl (the Python client sends `watch=True`) depend on this.

/** the value of one boolean query parameter; `undefined`/`null` when it is absent */
export function queryBool(v: string | null | undefined): boolean {
  if (v === undefined || v === null) return false;
  return v !== '0' && v.toLowerCase() !== 'false';
}
