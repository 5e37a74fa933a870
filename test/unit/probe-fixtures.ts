// Test doubles for the prober and lifecycle hook tests.
import { PassThrough } from 'node:stream';
import type { ExecSession, Runtime } from '../../agent/runtime/types.js';

/** a runtime whose exec prints `out` and exits with `code` after `ms` */
export function execRuntime(
  script: (cmd: string[]) => { out?: string; err?: string; code: number; ms?: number },
  log: string[][] = [],
): Runtime {
  return {
    exec: async (_id: string, cmd: string[]): Promise<ExecSession> => {
      log.push(cmd);
      const r = script(cmd);
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const done = new Promise<number>((res) =>
        setTimeout(() => {
          if (r.out) stdout.write(r.out);
          if (r.err) stderr.write(r.err);
          stdout.end();
          stderr.end();
          res(r.code);
        }, r.ms ?? 0),
      );
      return { stdin: null, stdout, stderr, resize: async () => undefined, wait: () => done, close: () => undefined };
    },
  } as unknown as Runtime;
}
