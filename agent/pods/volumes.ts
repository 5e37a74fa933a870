// Volume mounts the agent can provide by itself: emptyDir (a directory under the
// agent's data dir, removed with the pod) and hostPath. Sources that need API reads
// (configMap, secret, projected, PVCs) fail as CreateContainerConfigError for now.
import { join } from 'node:path';
import type { KubeObject } from '../../proto/meta.js';

export interface ResolvedMount { hostPath: string; containerPath: string; readOnly?: boolean; create: boolean }

export function resolveMounts(pod: KubeObject, container: any, dataDir: string): ResolvedMount[] {
  const volumes = new Map<string, any>((pod.spec?.volumes ?? []).map((v: { name: string }) => [v.name, v]));
  const out: ResolvedMount[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`volume "${m.name}" is not defined in the pod`);
    let hostPath: string;
    let create = false;
    if (v.emptyDir) {
      hostPath = join(dataDir, 'pods', pod.metadata.uid!, 'volumes', 'kubernetes.io~empty-dir', v.name);
      create = true;
    } else if (v.hostPath) {
      hostPath = v.hostPath.path;
      create = v.hostPath.type === 'DirectoryOrCreate';
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new Error(`volume "${v.name}": ${kind} volumes are not supported by skiff-agent yet`);
    }
    if (m.subPath) hostPath = join(hostPath, m.subPath);
    out.push({ hostPath, containerPath: m.mountPath, readOnly: !!m.readOnly, create });
  }
  return out;
}
