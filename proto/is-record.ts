// The one JSON-object guard of the code base: a decoded JSON value that is an object (not
// null, not an array). The control plane, the agent and the schema code all narrow with it.
// Map of the code base: ARCHITECTURE.md, "The parts".

/** a JSON object: not null, not an array */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
