// The JSONSchemaProps of a CRD's openAPIV3Schema (apiextensions.k8s.io/v1), as the
// structural-schema code reads it. Values come from users: every reader narrows first.
import { isRecord } from '../../proto/is-record.js';

export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  title?: string;
  nullable?: boolean;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  $ref?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: unknown[];
}

export { isRecord };

/** narrowing readers of user JSON: a string or '', the strings of a list, a list or [], an object or {} */
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const rec = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

/** the schema below `additionalProperties`, when it is one (not a boolean) */
export function additionalSchema(s: JSONSchemaProps): JSONSchemaProps | undefined {
  return isRecord(s.additionalProperties) ? (s.additionalProperties as JSONSchemaProps) : undefined;
}

/** apimachinery's field path child for a map key: `properties[spec]` */
export const keyPath = (path: string, key: string): string => `${path}[${key}]`;
/** a child of a value path as kube-openapi names it: `spec.replicas` (root: `replicas`) */
export const childPath = (path: string, key: string): string => (path ? `${path}.${key}` : key);
