// The agent's answer to the server's volume requests (volumeCreate / volumeDelete): carried
// out by LocalVolumes, answered with one volumeResult each — the path made, or the reason.
import type { Logger } from 'pino';
import type { VolumeCreate, VolumeDelete, VolumeResult } from '../../proto/agent-protocol.js';
import { type LocalVolumes, VolumeRequestError } from './local-volumes.js';

export async function handleVolumeRequest(
  volumes: LocalVolumes,
  m: VolumeCreate | VolumeDelete,
  log?: Logger,
): Promise<VolumeResult> {
  try {
    if (m.type === 'volumeCreate') {
      const path = volumes.create({ pvName: m.pvName, basePath: m.basePath, sizeBytes: m.sizeBytes });
      log?.info({ pv: m.pvName, path }, 'volume directory created');
      return { type: 'volumeResult', id: m.id, path };
    }
    await volumes.remove({ pvName: m.pvName, path: m.path });
    log?.info({ pv: m.pvName, path: m.path }, 'volume directory removed');
    return { type: 'volumeResult', id: m.id };
  } catch (e) {
    const error =
      e instanceof VolumeRequestError
        ? e.message
        : `${m.type === 'volumeCreate' ? 'create' : 'delete'} volume "${m.pvName}": ${e instanceof Error ? e.message : String(e)}`;
    log?.warn({ pv: m.pvName, error }, `${m.type} refused`);
    return { type: 'volumeResult', id: m.id, error: error.slice(0, 4096) };
  }
}
