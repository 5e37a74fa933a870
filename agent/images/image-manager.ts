// kubelet's image manager (pkg/kubelet/images/image_manager.go EnsureImageExists) for one
// container start: present and allowed by the pull policy, or pulled with the pod's
// imagePullSecrets (read through the server, kubelet's getPullSecretsForPod) and the
// keyring (keyring.ts), with kubelet's events and messages: Pulling, Pulled (time and
// size), Failed, BackOff, ErrImageNeverPull, InspectFailed, "Error: <reason>"; a failed
// pull backs off (10 s doubling to 5 min, per pod and image) and meanwhile the container
// waits in ImagePullBackOff with the last pull error.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import type { BackOff } from '../pods/backoff.js';
import { ObjectError, type ObjectSource } from '../pods/object-cache.js';
import { parseImageRef } from '../runtime/image-ref.js';
import { RuntimeError } from '../runtime/errors.js';
import type { PullPolicy, Runtime } from '../runtime/types.js';
import { keyringFromSecrets } from './keyring.js';
import { ImagePuller, type PullerOptions } from './puller.js';

type EventFn = (
  pod: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  fieldPath?: string,
) => void;

export interface ImageManagerDeps {
  runtime: Pick<Runtime, 'imageStatus' | 'pullImage'>;
  backoff: BackOff;
  log: Logger;
  event: EventFn;
  /** Secrets through the server; without it pulls go without credentials */
  objects?: ObjectSource;
  now?: () => number;
  puller?: PullerOptions;
}

export interface ContainerImage {
  name: string;
  image: string;
  imagePullPolicy?: string;
}

export type EnsureResult =
  | { ok: true; imageRef: string; pulled: boolean }
  /** the container waits with this reason and message; a sync in retryMs tries again */
  | { ok: false; reason: string; message: string; retryMs: number };

/** Go's time.Duration String for a whole number of milliseconds: 0s, 313ms, 1.5s, 2m3.004s, 1h0m0s */
export function goDuration(ms: number): string {
  const d = Math.max(0, Math.trunc(ms));
  if (d === 0) return '0s';
  if (d < 1000) return `${d}ms`;
  const h = Math.floor(d / 3_600_000);
  const m = Math.floor((d % 3_600_000) / 60_000);
  const sMs = d % 60_000;
  const whole = Math.floor(sMs / 1000);
  const frac =
    sMs % 1000
      ? `.${String(sMs % 1000)
          .padStart(3, '0')
          .replace(/0+$/, '')}`
      : '';
  const s = `${whole}${frac}s`;
  if (h) return `${h}h${m}m${s}`;
  if (m) return `${m}m${s}`;
  return s;
}

/** after a failed pull the next sync comes at half the back-off, so the pod shows ErrImagePull, then ImagePullBackOff */
const MIN_RETRY_MS = 1000;

export class ImageManager {
  readonly puller: ImagePuller;
  /** backOffKey -> "ErrImagePull: <message>" of the last failed pull (kubelet's prevPullErrMsg) */
  private prevPullErr = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly d: ImageManagerDeps) {
    this.now = d.now ?? Date.now;
    this.puller = new ImagePuller(d.runtime, d.log, d.puller);
  }

  forgetPod(uid: string): void {
    for (const k of this.prevPullErr.keys()) if (k.startsWith(`${uid}/`)) this.prevPullErr.delete(k);
  }

  private fail(pod: KubeObject, fieldPath: string, reason: string, message: string, retryMs: number): EnsureResult {
    // kuberuntime's startContainer: every EnsureImageExists failure is also "Error: <reason>"
    this.d.event(pod, 'Warning', 'Failed', `Error: ${reason}`, fieldPath);
    return { ok: false, reason, message, retryMs };
  }

  async ensureImageExists(pod: KubeObject, c: ContainerImage, fieldPath: string): Promise<EnsureResult> {
    const image = c.image;
    const policy = (c.imagePullPolicy || 'IfNotPresent') as PullPolicy;
    let present: { imageRef: string } | undefined;
    try {
      present = await this.d.runtime.imageStatus(image);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof RuntimeError && e.reason === 'InvalidImageName') {
        this.d.event(pod, 'Warning', 'InspectFailed', msg, fieldPath);
        return this.fail(pod, fieldPath, 'InvalidImageName', msg, 10_000);
      }
      const m = `Failed to inspect image "${image}": ${msg}`;
      this.d.event(pod, 'Warning', 'InspectFailed', m, fieldPath);
      return this.fail(pod, fieldPath, 'ImageInspectError', m, 5000);
    }
    if (present && policy !== 'Always') return { ok: true, imageRef: present.imageRef, pulled: false };
    if (policy === 'Never') {
      const m = `Container image "${image}" is not present with pull policy of Never`;
      this.d.event(pod, 'Warning', 'ErrImageNeverPull', m, fieldPath);
      return this.fail(pod, fieldPath, 'ErrImageNeverPull', m, 10_000);
    }

    const key = `${pod.metadata.uid}/image/${image}`;
    const now = this.now();
    if (this.d.backoff.inBackOffSinceUpdate(key, now)) {
      let m = `Back-off pulling image "${image}"`;
      this.d.event(pod, 'Normal', 'BackOff', m, fieldPath);
      const prev = this.prevPullErr.get(key);
      if (prev) m = `${m}: ${prev}`;
      return this.fail(pod, fieldPath, 'ImagePullBackOff', m, this.d.backoff.remainingSinceUpdateMs(key, now) + 50);
    }
    this.prevPullErr.delete(key);

    const secrets = await this.pullSecrets(pod);
    this.d.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, fieldPath);
    const t0 = this.now();
    try {
      const creds = keyringFromSecrets(secrets).lookup(repositoryOf(image));
      const r = await this.puller.pull(image, creds);
      const total = this.now() - t0;
      this.d.event(
        pod,
        'Normal',
        'Pulled',
        `Successfully pulled image "${image}" in ${goDuration(Math.min(r.pullMs, total))} (${goDuration(total)} including waiting). Image size: ${r.size} bytes.`,
        fieldPath,
      );
      return { ok: true, imageRef: r.imageRef, pulled: true };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof RuntimeError && e.reason === 'InvalidImageName') {
        this.d.event(pod, 'Warning', 'InspectFailed', msg, fieldPath);
        return this.fail(pod, fieldPath, 'InvalidImageName', msg, 10_000);
      }
      this.d.event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${msg}`, fieldPath);
      const at = this.now();
      this.d.backoff.next(key, at);
      this.prevPullErr.set(key, `ErrImagePull: ${msg}`);
      this.d.log.warn({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, image, err: msg }, 'image pull failed');
      return this.fail(
        pod,
        fieldPath,
        'ErrImagePull',
        msg,
        Math.max(MIN_RETRY_MS, Math.floor(this.d.backoff.delayMs(key) / 2)),
      );
    }
  }

  /** kubelet getPullSecretsForPod: the secrets that can be read; a Warning event names those that cannot */
  private async pullSecrets(pod: KubeObject): Promise<KubeObject[]> {
    const refs: unknown[] = Array.isArray(pod.spec?.imagePullSecrets) ? pod.spec.imagePullSecrets : [];
    const names = refs
      .map((r) =>
        r && typeof r === 'object' && typeof (r as { name?: unknown }).name === 'string'
          ? (r as { name: string }).name
          : '',
      )
      .filter(Boolean);
    if (!names.length) return [];
    const ns = pod.metadata.namespace ?? 'default';
    const out: KubeObject[] = [];
    const failed: string[] = [];
    for (const name of names) {
      try {
        if (!this.d.objects) throw new Error('the agent has no connection to the API');
        const s = await this.d.objects.get('Secret', ns, name, 0);
        if (!s) throw new ObjectError(404, 'NotFound', `secret "${name}" not found`);
        out.push(s);
      } catch (e) {
        this.d.log.info(
          {
            pod: `${ns}/${pod.metadata.name}`,
            secret: `${ns}/${name}`,
            err: e instanceof Error ? e.message : String(e),
          },
          'Unable to retrieve pull secret, the image pull may not succeed.',
        );
        failed.push(name);
      }
    }
    if (failed.length) {
      this.d.event(
        pod,
        'Warning',
        'FailedToRetrieveImagePullSecret',
        `Unable to retrieve some image pull secrets (${failed.join(', ')}); attempting to pull the image may not succeed.`,
      );
    }
    return out;
  }
}

/** parsers.ParseImageName's repository: the normalised name without tag or digest (what the keyring is asked about) */
function repositoryOf(image: string): string {
  try {
    return parseImageRef(image).repository;
  } catch {
    return image;
  }
}
