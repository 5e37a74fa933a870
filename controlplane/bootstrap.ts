// Objects every cluster has from its first start, created through the normal API path.
import { findResource } from './resources/index.js';
import type { ApiStorage } from './api/storage.js';
import { ApiError } from './api/errors.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function seedNamespaces(storage: ApiStorage): Promise<void> {
  const def = findResource('', 'v1', 'namespaces')!;
  for (const name of SYSTEM_NAMESPACES) {
    if (await storage.tryGet(def, undefined, name)) continue;
    try {
      await storage.create(def, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { fieldValidation: 'Strict' });
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }
}
