// Images on Docker: look up, pull (reading the pull's progress stream) and name them the
// way kubelet reports them (imageID docker-pullable://repo@digest, or the bare id). Pull
// failures, which Docker reports in-band with HTTP 200, come back as ErrImagePull.

import type Docker from 'dockerode';
import { call, dockerMessage, dockerStatus, toRuntimeError } from './docker-errors.js';
import { ErrImageNeverPull, ErrImagePull, RuntimeError } from './errors.js';
import { familiarRepository, parseImageRef, type ImageRef } from './image-ref.js';
import { asRecord, readNdjson } from './ndjson.js';
import type { ImageStatus, PullAuth, PullPolicy, PullProgress } from './types.js';

/** imageID as containerStatuses[].imageID: the RepoDigest of the requested repository, else the id. */
export function imageIdOf(img: Pick<Docker.ImageInspectInfo, 'Id' | 'RepoDigests'>, ref?: ImageRef): string {
  const digests = img.RepoDigests ?? [];
  if (digests.length === 0) return img.Id;
  const wanted = ref ? [ref.repository, familiarRepository(ref)] : [];
  const match = digests.find((d) => wanted.includes(d.slice(0, d.indexOf('@')))) ?? digests[0];
  return `docker-pullable://${match}`;
}

/** One message of the pull stream: an error (failure), progress, or nothing of interest. */
export function pullMessage(raw: unknown): { error: string } | { progress: PullProgress } | undefined {
  const msg = asRecord(raw);
  if (typeof msg.error === 'string') return { error: msg.error };
  const detail = asRecord(msg.errorDetail);
  if (typeof detail.message === 'string') return { error: detail.message };
  if (typeof msg.status !== 'string') return undefined;
  const p = asRecord(msg.progressDetail);
  return {
    progress: {
      status: msg.status,
      id: typeof msg.id === 'string' ? msg.id : undefined,
      current: typeof p.current === 'number' ? p.current : undefined,
      total: typeof p.total === 'number' ? p.total : undefined,
    },
  };
}

export class DockerImages {
  private readonly imageIdCache = new Map<string, { value: string; until: number }>();

  constructor(private readonly docker: Docker) {}

  parse(image: string): ImageRef {
    try {
      return parseImageRef(image);
    } catch (e) {
      throw new RuntimeError(
        'InvalidImageName',
        `Failed to apply default image tag "${image}": ${(e as Error).message}`,
      );
    }
  }

  async status(image: string): Promise<ImageStatus | undefined> {
    const ref = this.parse(image);
    const local = await this.findLocal(image, ref);
    return local ? { imageRef: imageIdOf(local, ref), size: local.Size ?? 0 } : undefined;
  }

  async pullImage(image: string, auth?: PullAuth, onProgress?: (p: PullProgress) => void): Promise<ImageStatus> {
    const ref = this.parse(image);
    await this.pull(ref, onProgress, auth);
    const pulled = await this.findLocal(image, ref);
    if (!pulled) throw new ErrImagePull(`image ${ref.normalized} is not present after pulling it`);
    return { imageRef: imageIdOf(pulled, ref), size: pulled.Size ?? 0 };
  }

  async ensure(image: string, pullPolicy: PullPolicy, onProgress?: (p: PullProgress) => void): Promise<string> {
    const ref = this.parse(image);
    if (pullPolicy !== 'Always') {
      const local = await this.findLocal(image, ref);
      if (local) return imageIdOf(local, ref);
      if (pullPolicy === 'Never') throw new ErrImageNeverPull(image);
    }
    await this.pull(ref, onProgress);
    const pulled = await this.findLocal(image, ref);
    if (!pulled) throw new ErrImagePull(`image ${ref.normalized} is not present after pulling it`);
    return imageIdOf(pulled, ref);
  }

  /** The user the image runs as (its USER, "" when unset): for kubelet's runAsNonRoot check. */
  async user(image: string): Promise<string> {
    const img = await call(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
    return img.Config?.User ?? '';
  }

  /**
   * imageID for a container's image id (sha256:...). Cached: a digest answer never changes;
   * a bare id may gain a RepoDigest when the image is pulled by name later, so it expires.
   */
  async idForId(imageId: string): Promise<string> {
    const hit = this.imageIdCache.get(imageId);
    if (hit && hit.until > Date.now()) return hit.value;
    let value = imageId;
    try {
      value = imageIdOf(await this.docker.getImage(imageId).inspect());
    } catch {
      // image gone: its id is still the best answer
    }
    const until = value.startsWith('docker-pullable://') ? Infinity : Date.now() + 60_000;
    if (this.imageIdCache.size > 1000) this.imageIdCache.clear();
    this.imageIdCache.set(imageId, { value, until });
    return value;
  }

  private async findLocal(image: string, ref: ImageRef): Promise<Docker.ImageInspectInfo | undefined> {
    // The daemon normalises names itself; the normalised form is the fallback for odd inputs.
    for (const name of image === ref.normalized ? [image] : [image, ref.normalized]) {
      try {
        return await this.docker.getImage(name).inspect();
      } catch (e) {
        const re = toRuntimeError(e, `inspect image ${name}`);
        if (re.reason !== 'NotFound') throw re;
      }
    }
    return undefined;
  }

  private async pull(ref: ImageRef, onProgress?: (p: PullProgress) => void, auth?: PullAuth): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      // credentials travel in the X-Registry-Auth header, never in the URL
      stream = await this.docker.createImage({
        fromImage: ref.repository,
        tag: ref.digest ?? ref.tag ?? 'latest',
        ...(auth
          ? {
              authconfig: {
                username: auth.username,
                password: auth.password,
                ...(auth.email ? { email: auth.email } : {}),
              },
            }
          : {}),
      });
    } catch (e) {
      throw new ErrImagePull(dockerMessage(e), dockerStatus(e), { cause: e });
    }
    await new Promise<void>((resolve, reject) => {
      let failed: string | undefined;
      let settled = false;
      const finish = (err?: string) => {
        if (settled) return;
        settled = true;
        if (err) reject(new ErrImagePull(err));
        else resolve();
      };
      readNdjson(stream, (raw) => {
        const m = pullMessage(raw);
        if (!m) return;
        if ('error' in m) failed ??= m.error;
        else onProgress?.(m.progress); // what a progress callback throws does not break the pull
      });
      stream.on('error', (e: Error) => finish(dockerMessage(e)));
      stream.on('end', () => finish(failed));
      stream.on('close', () => finish(failed));
    });
  }
}
