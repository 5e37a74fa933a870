// The latest cluster network state the server sent, whatever the network mode: its
// Services give the containers' service link variables (the pod worker's `services`).
import type { NetworkState } from '../../proto/agent-protocol.js';

/** It follows the pod set on registration: a container starting right then waits for it a little (5 s at most). */
export class ClusterNetwork {
  private state?: NetworkState;
  private readonly waiters = new Set<() => void>();

  set(m: NetworkState): void {
    this.state = m;
    for (const w of [...this.waiters]) w();
  }

  async services(): Promise<NetworkState['services'] | undefined> {
    if (!this.state) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, 5000);
        this.waiters.add(done);
      });
    }
    return this.state?.services;
  }
}
