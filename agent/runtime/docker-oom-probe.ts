// Whether this Docker engine can give containers a negative oom_score_adj, probed once.
// Lowering it below 0 needs CAP_SYS_RESOURCE in the daemon; where Docker lacks it (some
// sandboxes and nested setups) runc fails the start with "can't get final child's PID from
// pipe", so negative values are probed once and, if refused, clamped to 0 (which keeps
// kubelet's order: Guaranteed < Burstable < BestEffort).

import type Docker from 'dockerode';
import { POD_INFRA_OOM_ADJ } from '../cgroups/qos.js';

export class NegativeOomProbe {
  private probe?: Promise<boolean>;

  constructor(private readonly docker: Docker) {}

  /** The config's oom_score_adj as this engine can set it. `image`: one that is present (the probe must not need a registry). */
  async clamp(config: Docker.ContainerCreateOptions, image: string): Promise<void> {
    const wanted = config.HostConfig?.OomScoreAdj;
    if (wanted === undefined || wanted >= 0 || !config.HostConfig) return;
    this.probe ??= this.run(image);
    if (!(await this.probe)) config.HostConfig.OomScoreAdj = 0;
  }

  /** Not without CAP_SYS_RESOURCE (unprivileged or sandboxed dockerd): then runc fails every such start. */
  private async run(image: string): Promise<boolean> {
    let id: string | undefined;
    try {
      const c = await this.docker.createContainer({
        Image: image,
        Labels: { 'io.skiff.probe': 'oom-score-adj' },
        HostConfig: { OomScoreAdj: POD_INFRA_OOM_ADJ, NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
      });
      id = c.id;
      await c.start();
      return true;
    } catch {
      if (id === undefined) {
        // Could not even create the probe: say nothing and retry next time.
        this.probe = undefined;
        return true;
      }
      return false;
    } finally {
      if (id)
        await this.docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined);
    }
  }
}
