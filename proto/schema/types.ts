// The field schema of the kinds skiff serves: which fields exist (unknown-field
// detection for fieldValidation=Strict/Warn), their JSON types, and for lists the
// strategic-merge-patch strategy and merge key (the `patchStrategy`/`patchMergeKey`
// struct tags of k8s.io/api). Pure data, no I/O.
// Map of the code base: ARCHITECTURE.md, "The parts".

export type FieldSchema =
  | { t: 'string' }
  // integer; `format` is the Go type of the field (k8s.io/api types.go, the OpenAPI
  // `format`): values outside its range are rejected as the apiserver's decoder does.
  // Absent: int64.
  | { t: 'int'; format?: 'int32' | 'int64' }
  | { t: 'number' } // float
  | { t: 'bool' }
  | { t: 'intOrString' } // IntOrString (targetPort, maxSurge, ...)
  | { t: 'quantity' } // resource.Quantity: string or number
  | { t: 'time' } // RFC3339 string (metav1.Time), null allowed
  | { t: 'any' } // free-form JSON (RawExtension, JSON): not inspected
  | { t: 'object'; fields: Record<string, FieldSchema>; retainKeys?: boolean }
  | { t: 'map'; values: FieldSchema } // map[string]X
  | {
      t: 'list';
      items: FieldSchema;
      /** strategic merge patch: 'merge' merges by mergeKey (or as a set for primitives); absent = replace */
      strategy?: 'merge';
      mergeKey?: string;
      /** patchStrategy "merge,retainKeys" on the list elements (volumes) */
      retainKeys?: boolean;
    }
  | { t: 'ref'; name: string }; // a named definition in SchemaDefs (allows recursion)

export type SchemaDefs = Record<string, FieldSchema>;
