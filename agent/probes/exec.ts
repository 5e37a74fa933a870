// Run a command in a container through the runtime's exec (docker exec), collect up to
// 10 KiB of its output and give up after a timeout, as kubelet's exec prober and exec
// lifecycle hooks do. A timed-out exec is detached; Docker cannot kill it.
import type { Runtime } from '../runtime/types.js';
import { MAX_OUTPUT } from './http.js';

export interface ExecResult {
  exitCode?: number;
  output: string;
  timedOut: boolean;
}

export async function execInContainer(
  runtime: Runtime,
  containerId: string,
  cmd: string[],
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<ExecResult> {
  const session = await runtime.exec(containerId, cmd, { stdout: true, stderr: true });
  let output = '';
  const collect = (d: Buffer | string) => {
    if (output.length < MAX_OUTPUT) output = (output + d.toString()).slice(0, MAX_OUTPUT);
  };
  session.stdout.on('data', collect);
  session.stderr.on('data', collect);
  const waited = session.wait();
  waited.catch(() => undefined); // may reject after we gave up on it
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<'timeout' | 'aborted'>((r) => {
    if (timeoutMs !== undefined) timer = setTimeout(() => r('timeout'), timeoutMs);
    if (signal) {
      onAbort = () => r('aborted');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    const r = await Promise.race([waited, giveUp]);
    if (r === 'aborted') {
      session.close();
      throw new Error(`command '${cmd.join(' ')}' cancelled`);
    }
    if (r === 'timeout') {
      session.close();
      return { output, timedOut: true };
    }
    return { exitCode: r, output, timedOut: false };
  } finally {
    clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
  }
}
