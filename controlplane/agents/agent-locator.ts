// Where a node's agent is connected, for several servers: each server records itself on the
// Node when that node's agent registers with it (annotation skiff.io/agent-server = the
// server's URL), so a server asked for a pod's logs, exec or port-forward on a node whose
// agent is connected elsewhere knows which server to relay the request to (peer-relay.ts).
// One write per (re)connection that lands on another server; none while it stays put.
import type { Logger } from 'pino';
import type { ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';

export const AGENT_SERVER_ANNOTATION = 'skiff.io/agent-server';

export class AgentLocator {
  private readonly nodeDef = findResource('', 'v1', 'nodes')!;

  constructor(
    private readonly storage: ApiStorage,
    readonly selfUrl: string,
    private readonly log: Logger,
  ) {}

  /** the node's agent registered here: say so on the Node (best effort: a failure only costs relays) */
  async registered(node: string): Promise<void> {
    try {
      await this.storage.guaranteedUpdate(this.nodeDef, undefined, node, {}, (cur) => {
        if (cur.metadata.annotations?.[AGENT_SERVER_ANNOTATION] === this.selfUrl) return cur;
        return {
          ...cur,
          metadata: {
            ...cur.metadata,
            annotations: { ...cur.metadata.annotations, [AGENT_SERVER_ANNOTATION]: this.selfUrl },
          },
        };
      });
    } catch (err) {
      this.log.warn({ err, node }, 'cannot record which server holds the agent connection');
    }
  }

  /** the other server the node's agent is connected to, if the Node names one */
  async peerFor(node: string): Promise<string | undefined> {
    const n = await this.storage.tryGet(this.nodeDef, undefined, node);
    const url = n?.metadata.annotations?.[AGENT_SERVER_ANNOTATION];
    if (typeof url !== 'string' || url === this.selfUrl || !/^https:\/\/[^\s/]+$/.test(url)) return undefined;
    return url;
  }
}
