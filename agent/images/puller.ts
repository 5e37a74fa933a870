// The node's image pulls. Identical pulls (same image, same credentials) asked for at the
// same time share one runtime pull; with credentials each matching one is tried in turn
// until a pull succeeds, and the errors of all are joined as kubelet's
// (kuberuntime_image.go PullImage, utilerrors.NewAggregate). A pull that takes longer than
// a few seconds logs a progress line (layers and bytes so far) every few seconds.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { parseImageRef } from '../runtime/image-ref.js';
import { ErrImagePull, RuntimeError } from '../runtime/errors.js';
import type { ImageStatus, PullAuth, PullProgress, Runtime } from '../runtime/types.js';

export interface PullResult extends ImageStatus {
  /** how long the runtime pull took */
  pullMs: number;
}

export interface PullerOptions {
  /** first progress line after this long (default 5 s) */
  progressAfterMs?: number;
  /** then one every this long (default 5 s) */
  progressEveryMs?: number;
  now?: () => number;
}

/** apimachinery's aggregate error text: one message as is, several deduplicated in brackets */
export function aggregateMessage(messages: readonly string[]): string {
  if (messages.length === 1) return messages[0]!;
  const seen = [...new Set(messages)];
  return seen.length === 1 ? seen[0]! : `[${seen.join(', ')}]`;
}

/** the key under which identical pulls meet: the normalised reference and a hash of the credentials */
export function pullKey(image: string, creds: readonly PullAuth[]): string {
  let ref = image;
  try {
    ref = parseImageRef(image).normalized;
  } catch {
    /* the runtime reports it */
  }
  const h = createHash('sha256')
    .update(JSON.stringify(creds.map((c) => [c.username, c.password, c.email ?? ''])))
    .digest('hex')
    .slice(0, 16);
  return `${ref}#${h}`;
}

/** what a progress line says: layers done of those seen, bytes downloaded of those known */
export class PullProgressTally {
  private layers = new Map<string, { current: number; total: number; done: boolean }>();

  add(p: PullProgress): void {
    if (
      !p.id ||
      p.status.startsWith('Pulling from') ||
      p.status.startsWith('Digest:') ||
      p.status.startsWith('Status:')
    )
      return;
    const l = this.layers.get(p.id) ?? { current: 0, total: 0, done: false };
    if (p.status === 'Downloading' && typeof p.current === 'number') {
      l.current = p.current;
      if (typeof p.total === 'number' && p.total > 0) l.total = p.total;
    } else if (p.status === 'Download complete' || p.status === 'Pull complete' || p.status === 'Already exists') {
      if (l.total) l.current = l.total;
      l.done = true;
    }
    this.layers.set(p.id, l);
  }

  summary(): { layersDone: number; layers: number; downloadedBytes: number; totalBytes: number } {
    let layersDone = 0,
      downloadedBytes = 0,
      totalBytes = 0;
    for (const l of this.layers.values()) {
      if (l.done) layersDone++;
      downloadedBytes += l.current;
      totalBytes += l.total;
    }
    return { layersDone, layers: this.layers.size, downloadedBytes, totalBytes };
  }
}

export class ImagePuller {
  private inflight = new Map<string, Promise<PullResult>>();
  /** runtime pulls started (each shared by everyone who asked for it meanwhile) */
  pullsStarted = 0;
  private readonly now: () => number;

  constructor(
    private readonly runtime: Pick<Runtime, 'pullImage'>,
    private readonly log: Logger,
    private readonly o: PullerOptions = {},
  ) {
    this.now = o.now ?? Date.now;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** pull `image` with the credentials in order (none: anonymously); joins an identical pull in flight */
  pull(image: string, creds: readonly PullAuth[]): Promise<PullResult> {
    const key = pullKey(image, creds);
    const running = this.inflight.get(key);
    if (running) {
      this.log.info({ image }, 'image pull already in progress: sharing it');
      return running;
    }
    const p = this.run(image, creds).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async run(image: string, creds: readonly PullAuth[]): Promise<PullResult> {
    this.pullsStarted++;
    const t0 = this.now();
    const tally = new PullProgressTally();
    const every = this.o.progressEveryMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      const line = () => {
        const s = tally.summary();
        this.log.info({ image, elapsedSeconds: Math.round((this.now() - t0) / 1000), ...s }, 'pulling image');
      };
      line();
      timer = setInterval(line, every);
      timer.unref();
    }, this.o.progressAfterMs ?? 5000);
    first.unref();
    const onProgress = (p: PullProgress) => tally.add(p);
    try {
      const status = await this.attempts(image, creds, onProgress);
      const pullMs = this.now() - t0;
      if (pullMs >= (this.o.progressAfterMs ?? 5000))
        this.log.info({ image, seconds: Math.round(pullMs / 100) / 10, sizeBytes: status.size }, 'pulled image');
      return { ...status, pullMs };
    } finally {
      clearTimeout(first);
      clearInterval(timer);
    }
  }

  private async attempts(
    image: string,
    creds: readonly PullAuth[],
    onProgress: (p: PullProgress) => void,
  ): Promise<ImageStatus> {
    if (!creds.length) return this.runtime.pullImage(image, undefined, onProgress);
    const errors: string[] = [];
    for (const c of creds) {
      try {
        return await this.runtime.pullImage(image, c, onProgress);
      } catch (e) {
        // a bad reference fails every attempt alike
        if (e instanceof RuntimeError && e.reason === 'InvalidImageName') throw e;
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    throw new ErrImagePull(aggregateMessage(errors));
  }
}
