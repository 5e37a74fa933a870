// Table column definitions shared by every kind, with kube-apiserver's descriptions
// for the columns every table has (Name from ObjectMeta.name, Age from creationTimestamp).
import type { Container, PodSpec } from '../../proto/api/types.gen.js';
import { isDecoded, type Decoded } from './meta-validation.js';
import type { TableColumn } from './types.js';

export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

export const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

export function col(name: string, type: TableColumn['type'], description: string, priority: 0 | 1 = 0): TableColumn {
  return { name, type, format: '', description, priority };
}

export const nameColumn = (priority: 0 | 1 = 0): TableColumn => ({
  name: 'Name',
  type: 'string',
  format: 'name',
  description: NAME_DESCRIPTION,
  priority,
});
export const ageColumn = (): TableColumn => col('Age', 'string', AGE_DESCRIPTION);

export const containersColumn = (): TableColumn =>
  col('Containers', 'string', 'Names of each container in the template.', 1);
export const imagesColumn = (): TableColumn =>
  col('Images', 'string', 'Images referenced by each container in the template.', 1);
export const selectorColumn = (
  description = 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
): TableColumn => col('Selector', 'string', description, 1);

/** layoutContainerCells: "a,b" names and "img1,img2" images of a template's containers. */
export function containerCells(spec: unknown): [string, string] {
  const containers: (Decoded<Container> | null | undefined)[] =
    isDecoded<PodSpec>(spec) && Array.isArray(spec.containers) ? spec.containers : [];
  return [containers.map((c) => c?.name ?? '').join(','), containers.map((c) => c?.image ?? '').join(',')];
}
