// The objects a ServiceAccount token may name, watched into memory so that every request's
// token check is a map lookup (kube-apiserver reads them from its watch caches too).
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import type { ApiStorage } from '../api/storage.js';
import { Informer } from '../controllers/informer.js';
import { findResource } from '../resources/index.js';
import type { BoundKind, ObjectLookup } from './tokens.js';

const PLURALS: Record<'ServiceAccount' | BoundKind, string> = {
  ServiceAccount: 'serviceaccounts',
  Pod: 'pods',
  Secret: 'secrets',
  Node: 'nodes',
};

export class InformerLookup implements ObjectLookup {
  private readonly informers = new Map<string, Informer>();

  constructor(storage: ApiStorage, log?: Logger) {
    for (const [kind, plural] of Object.entries(PLURALS)) {
      const d = findResource('', 'v1', plural);
      if (!d) throw new Error(`no resource v1/${plural}`);
      this.informers.set(kind, new Informer(storage, d, log));
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }

  get(kind: 'ServiceAccount' | BoundKind, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.informers.get(kind)?.get(namespace, name);
  }
}
