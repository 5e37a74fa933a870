// Per-node credentials, as k3s' node passwords: on its first join an agent presents a
// random secret it generated (and keeps in its data dir); the server stores its SHA-256
// in the Secret kube-system/<node>.node-password.skiff and from then on refuses a
// register for that node name without the same secret. Why a Secret: it is encrypted at
// rest with the other Secrets, readable only by admins (a Node annotation is readable by
// anyone who may list Nodes), and it carries an ownerReference to its Node, so deleting
// the Node deletes the credential (the garbage collector; a stale one — owner uid gone —
// is also removed here, so a re-join never waits for the collector). Why SHA-256 and not
// scrypt: the secret is 32 random bytes, beyond any guessing, so a slow hash would add
// nothing but CPU time an agent could make the server spend on every register.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import type { ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import type { ResourceDef } from '../resources/types.js';

export const NODE_PASSWORD_SUFFIX = '.node-password.skiff';
export const NODE_PASSWORD_TYPE = 'skiff.io/node-password';
export const NODE_PASSWORD_NAMESPACE = 'kube-system';
/** a Secret name is a DNS subdomain of at most 253 characters */
export const MAX_NODE_NAME_WITH_CREDENTIAL = 253 - NODE_PASSWORD_SUFFIX.length;

export function nodePasswordSecretName(node: string): string {
  return `${node}${NODE_PASSWORD_SUFFIX}`;
}

export function hashCredential(credential: string): string {
  return `sha256:${createHash('sha256').update(credential, 'utf8').digest('hex')}`;
}

function hashMatches(stored: string, credential: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(hashCredential(credential), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export type Verdict = { ok: true; firstJoin: boolean } | { ok: false; message: string };

function def(group: string, version: string, plural: string): ResourceDef {
  const d = findResource(group, version, plural);
  if (!d) throw new Error(`resource ${plural} missing`);
  return d;
}

export function rejoinHint(node: string): string {
  return `if this machine was reinstalled (its agent data dir lost), delete the Node first: kubectl delete node ${node}`;
}

export class NodeCredentials {
  private readonly secretDef = def('', 'v1', 'secrets');
  private readonly nodeDef = def('', 'v1', 'nodes');

  constructor(private readonly storage: ApiStorage) {}

  /**
   * May an agent presenting `credential` register as `node`? A node name never seen
   * (no Node, no credential) is a first join: its credential is stored now.
   */
  async verify(node: string, credential: string | undefined, retried = false): Promise<Verdict> {
    if (!credential)
      return {
        ok: false,
        message: `node "${node}": the agent sent no node credential (skiff-agent too old?): upgrade skiff-agent`,
      };
    if (node.length > MAX_NODE_NAME_WITH_CREDENTIAL)
      return {
        ok: false,
        message: `node name "${node.slice(0, 40)}...": must be no more than ${MAX_NODE_NAME_WITH_CREDENTIAL} characters`,
      };
    const name = nodePasswordSecretName(node);
    let secret = await this.storage.tryGet(this.secretDef, NODE_PASSWORD_NAMESPACE, name);
    const nodeObj = await this.storage.tryGet(this.nodeDef, undefined, node);
    if (secret) {
      const owner = (secret.metadata.ownerReferences ?? []).find((r) => r.kind === 'Node' && r.apiVersion === 'v1');
      if (owner && owner.uid !== nodeObj?.metadata.uid) {
        // its Node was deleted (the garbage collector will get to it): the name is free again
        await this.remove(secret);
        secret = undefined;
      }
    }
    if (secret) {
      const stored = Buffer.from(String(secret.data?.hash ?? ''), 'base64').toString('utf8');
      if (hashMatches(stored, credential)) return { ok: true, firstJoin: false };
      return {
        ok: false,
        message: `node "${node}" is registered with a different node credential: ${rejoinHint(node)}${nodeObj ? '' : ` (and kubectl -n ${NODE_PASSWORD_NAMESPACE} delete secret ${name})`}`,
      };
    }
    if (nodeObj) {
      return {
        ok: false,
        message: `node "${node}" exists but has no node credential (created by hand or before node credentials): to let this agent take it, delete the Node: kubectl delete node ${node}`,
      };
    }
    try {
      await this.storage.create(this.secretDef, NODE_PASSWORD_NAMESPACE, {
        metadata: { name, namespace: NODE_PASSWORD_NAMESPACE, labels: { 'skiff.io/node': node } },
        type: NODE_PASSWORD_TYPE,
        data: { hash: Buffer.from(hashCredential(credential), 'utf8').toString('base64') },
      });
      return { ok: true, firstJoin: true };
    } catch (e) {
      // another server joined it at the same moment: judge against what won
      if (e instanceof ApiError && e.reason === 'AlreadyExists' && !retried) return this.verify(node, credential, true);
      throw e;
    }
  }

  /** after the Node is written: the credential belongs to it (deleted with it by the garbage collector) */
  async bind(node: string, nodeUid: string): Promise<void> {
    await this.storage.guaranteedUpdate(
      this.secretDef,
      NODE_PASSWORD_NAMESPACE,
      nodePasswordSecretName(node),
      {},
      (cur) => {
        const refs = cur.metadata.ownerReferences ?? [];
        if (refs.length === 1 && refs[0]!.uid === nodeUid) return cur;
        cur.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeUid }];
        return cur;
      },
    );
  }

  private async remove(secret: KubeObject): Promise<void> {
    try {
      await this.storage.delete(this.secretDef, NODE_PASSWORD_NAMESPACE, secret.metadata.name!, {
        preconditions: { uid: secret.metadata.uid! },
      });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }
}
