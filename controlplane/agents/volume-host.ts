// VolumeHost over the agent connections: the local-path provisioner's create/delete of a
// volume directory becomes a volumeCreate/volumeDelete message to the node's agent, and
// the agent's volumeResult settles it. The server never touches a node's disk. A node
// that is not connected, an agent that leaves before answering, or no answer in time
// reject with the reason (the PV controller reports it and retries).
import { randomUUID } from 'node:crypto';
import type { VolumeResult } from '../../proto/agent-protocol.js';
import type { ProvisionRequest, RemoveRequest, VolumeHost } from '../storage/volume-host.js';
import type { AgentGateway } from './gateway.js';

export interface AgentVolumeHostOptions {
  /** how long a create may take on the node (ms) */
  createTimeoutMs?: number;
  /** how long a (recursive) delete may take on the node (ms) */
  removeTimeoutMs?: number;
}

interface Pending {
  node: string;
  resolve: (m: VolumeResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class AgentVolumeHost implements VolumeHost {
  private pending = new Map<string, Pending>();
  private readonly unwatch: () => void;

  constructor(
    private readonly gateway: Pick<AgentGateway, 'sendVolumeRequest' | 'watchVolumes'>,
    private readonly o: AgentVolumeHostOptions = {},
  ) {
    this.unwatch = gateway.watchVolumes({
      result: (node, m) => {
        const p = this.pending.get(m.id);
        if (!p || p.node !== node) return; // unknown, late, or another node's id: ignore
        this.settle(m.id, m);
      },
      disconnected: (node) => {
        for (const [id, p] of this.pending)
          if (p.node === node) this.settle(id, new Error(`node ${node} disconnected before answering`));
      },
    });
  }

  async provision(node: string, req: ProvisionRequest): Promise<{ path: string }> {
    const r = await this.request(
      node,
      {
        type: 'volumeCreate',
        pvName: req.pvName,
        ...(req.basePath ? { basePath: req.basePath } : {}),
        sizeBytes: Math.max(0, Math.floor(req.sizeBytes)),
      },
      this.o.createTimeoutMs ?? 30_000,
    );
    if (r.error) throw new Error(r.error);
    if (!r.path) throw new Error(`node ${node} answered without the volume's path`);
    return { path: r.path };
  }

  async remove(node: string, req: RemoveRequest): Promise<void> {
    const r = await this.request(
      node,
      { type: 'volumeDelete', pvName: req.pvName, path: req.path },
      this.o.removeTimeoutMs ?? 120_000,
    );
    if (r.error) throw new Error(r.error);
  }

  /** pending requests fail; later answers are ignored */
  close(): void {
    this.unwatch();
    for (const id of [...this.pending.keys()]) this.settle(id, new Error('server shutting down'));
  }

  private request(
    node: string,
    m:
      | { type: 'volumeCreate'; pvName: string; basePath?: string; sizeBytes: number }
      | { type: 'volumeDelete'; pvName: string; path: string },
    timeoutMs: number,
  ): Promise<VolumeResult> {
    return new Promise((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(
        () => this.settle(id, new Error(`node ${node} did not answer within ${Math.round(timeoutMs / 1000)}s`)),
        timeoutMs,
      );
      timer.unref();
      this.pending.set(id, { node, resolve, reject, timer });
      if (!this.gateway.sendVolumeRequest(node, { ...m, id }))
        this.settle(id, new Error(`node ${node} is not connected`));
    });
  }

  private settle(id: string, r: VolumeResult | Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (r instanceof Error) p.reject(r);
    else p.resolve(r);
  }
}
