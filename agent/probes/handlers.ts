// Lifecycle hooks (kubelet's pkg/kubelet/lifecycle/handlers.go): postStart and preStop
// run an exec in the container, a GET to the pod, or a sleep. A hook fails on a non-zero
// exit or a transport error (an HTTP status is not checked, as in kubelet); the thrown
// message is kubelet's, for the waiting state and the log, never for events.
import type { Runtime } from '../runtime/types.js';
import { execInContainer } from './exec.js';
import { buildHttpGetRequest, httpGet, LIFECYCLE_USER_AGENT } from './http.js';
import type { Handler, ProbedContainer } from './types.js';

export interface HookTarget {
  runtime: Runtime;
  containerId: string;
  container: ProbedContainer;
  podIP?: string;
  /** "name_namespace(uid)", kubelet's format.Pod */
  podRef: string;
}

const NO_TIMEOUT_HTTP_MS = 30_000;

/** runs the hook; resolves when done, rejects with kubelet's message; gives up (rejects) after timeoutMs or on abort */
export async function runLifecycleHandler(
  h: Handler,
  t: HookTarget,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const { timeoutMs, signal } = opts;
  const who = `for Container "${t.container.name}" in Pod "${t.podRef}"`;
  if (h.exec) {
    const cmd = h.exec.command ?? [];
    let r;
    try {
      r = await execInContainer(t.runtime, t.containerId, cmd, timeoutMs, signal);
    } catch (err) {
      throw new Error(
        `Exec lifecycle hook ([${cmd.join(' ')}]) ${who} failed - error: ${(err as Error).message}, message: ""`,
      );
    }
    if (r.timedOut)
      throw new Error(
        `Exec lifecycle hook ([${cmd.join(' ')}]) ${who} failed - error: command '${cmd.join(' ')}' timed out, message: ${JSON.stringify(r.output)}`,
      );
    if (r.exitCode !== 0)
      throw new Error(
        `Exec lifecycle hook ([${cmd.join(' ')}]) ${who} failed - error: command '${cmd.join(' ')}' exited with ${r.exitCode}: ${r.output}, message: ${JSON.stringify(r.output)}`,
      );
    return;
  }
  if (h.httpGet) {
    try {
      await httpGet(
        buildHttpGetRequest(h.httpGet, t.container, t.podIP, LIFECYCLE_USER_AGENT),
        timeoutMs ?? NO_TIMEOUT_HTTP_MS,
      );
    } catch (err) {
      throw new Error(
        `HTTP lifecycle hook (${h.httpGet.path ?? '/'}) ${who} failed - error: ${(err as Error).message}`,
      );
    }
    return;
  }
  if (h.sleep) {
    const ms = Math.max(0, h.sleep.seconds * 1000);
    await new Promise<void>((r) => {
      const timer = setTimeout(r, timeoutMs === undefined ? ms : Math.min(ms, timeoutMs));
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          r();
        },
        { once: true },
      );
    });
    return;
  }
  throw new Error(`Cannot run handler: invalid handler ${who}`);
}
