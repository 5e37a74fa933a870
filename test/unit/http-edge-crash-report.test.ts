// The last defence (issue 10, general): an exception nothing caught is reported as a bug
// with its stack and the process exits non-zero (systemd's Restart=always brings it back);
// the units must restart on any exit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { installCrashReporters } from '../../proto/crash-report.js';

describe('crash reporters', () => {
  it.each(['uncaughtException', 'unhandledRejection'] as const)(
    '%s: logged as a bug with the stack, exit 70',
    (event) => {
      type Listener = (...a: unknown[]) => void;
      const events = ['uncaughtException', 'unhandledRejection'] as const;
      const listeners = (e: string) => (process as unknown as { listeners(e: string): Listener[] }).listeners(e);
      const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
      const exits: number[] = [];
      const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        installCrashReporters('skiff-test', (c) => exits.push(c));
        const added = listeners(event).filter((l) => !before.get(event)!.has(l));
        expect(added).toHaveLength(1);
        // take them out again: this test process keeps its own handlers
        for (const e of events) for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
        added[0]!(new Error('boom in a listener'));
        expect(exits).toEqual([70]);
        const text = write.mock.calls.map((c) => String(c[0])).join('');
        expect(text).toContain('skiff-test: BUG');
        expect(text).toContain('boom in a listener');
        expect(text).toMatch(/at .*crash-report\.test\.ts/);
      } finally {
        write.mockRestore();
      }
    },
  );

  it.each(['skiff-server.service', 'skiff-agent.service'])('%s restarts on any exit', (unit) => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', 'scripts', 'systemd', unit), 'utf8');
    expect(text).toMatch(/^Restart=always$/m);
  });
});
