// The audit log writer: lumberjack's backup names and retention, rotation with a tiny
// maximum size, lines too large for a file, and a bounded queue when the output is slow
// (events dropped and counted, memory never grows with the backlog).
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLogWriter, backupName, backupsOf, backupsToRemove } from '../../controlplane/audit/writer.js';

describe('backup names (lumberjack)', () => {
  it('name-<UTC time with ms>.ext beside the file', () => {
    expect(backupName('/var/log/audit.log', new Date('2026-12-05T07:25:44.123Z'))).toBe(
      '/var/log/audit-2026-12-05T07-25-44.123.log',
    );
    expect(backupName('/var/log/audit', new Date('2026-12-05T07:25:44.005Z'))).toBe(
      '/var/log/audit-2026-12-05T07-25-44.005',
    );
    expect(backupName('/x/a.b.json', new Date(0))).toBe('/x/a.b-1970-01-01T00-00-00.000.json');
  });
  it('finds its own backups, newest first, and removes beyond maxBackups', () => {
    const names = [
      'audit.log',
      'audit-2026-12-05T07-00-00.000.log',
      'audit-2026-12-05T09-00-00.000.log',
      'audit-2026-12-05T08-00-00.000.log',
      'audit-bad.log',
      'other-2026-12-05T07-00-00.000.log',
      'audit-2026-12-05T07-00-00.000.txt',
    ];
    expect(backupsOf('/d/audit.log', names)).toEqual([
      'audit-2026-12-05T09-00-00.000.log',
      'audit-2026-12-05T08-00-00.000.log',
      'audit-2026-12-05T07-00-00.000.log',
    ]);
    expect(backupsToRemove('/d/audit.log', names, 2)).toEqual(['audit-2026-12-05T07-00-00.000.log']);
    expect(backupsToRemove('/d/audit.log', names, 0)).toEqual([]);
  });
});

describe('AuditLogWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-audit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const line = (i: number, size = 100) => `${JSON.stringify({ i, pad: 'x'.repeat(size - 20) })}\n`;

  it('rotates before a line would pass the maximum size and keeps maxBackups', async () => {
    const path = join(dir, 'audit.log');
    let t = Date.parse('2026-12-05T07:00:00.000Z');
    const drops: string[] = [];
    const w = new AuditLogWriter({
      path,
      maxSizeBytes: 1000,
      maxBackups: 3,
      now: () => new Date((t += 1000)),
      onDrop: (_n, why) => drops.push(why),
    });
    const lines = Array.from({ length: 60 }, (_, i) => line(i));
    const size = Buffer.byteLength(lines[0]!);
    for (const l of lines) expect(w.write(l)).toBe(true);
    await w.close();
    const perFile = Math.floor(1000 / size);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(4); // the live file and 3 backups
    expect(
      files.filter((f) => f !== 'audit.log').every((f) => /^audit-2026-12-05T07-\d\d-\d\d\.000\.log$/.test(f)),
    ).toBe(true);
    for (const f of files) expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(1000);
    // the newest backups hold the lines just before the live file's, none torn
    const all = [...files.filter((f) => f !== 'audit.log'), 'audit.log']
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l).i as number);
    expect(all).toEqual(Array.from({ length: all.length }, (_, k) => 60 - all.length + k));
    expect(all.length).toBeGreaterThanOrEqual(3 * perFile);
    expect(w.rotations).toBe(Math.ceil(60 / perFile) - 1);
    expect(drops).toEqual([]);
  });

  it('appends to an existing file and rotates it when the next line does not fit', async () => {
    const path = join(dir, 'audit.log');
    writeFileSync(path, 'x'.repeat(950) + '\n');
    const w = new AuditLogWriter({
      path,
      maxSizeBytes: 1000,
      maxBackups: 0,
      now: () => new Date('2026-12-05T07:00:00.000Z'),
    });
    w.write(line(1));
    await w.close();
    expect(readFileSync(path, 'utf8')).toBe(line(1));
    expect(readdirSync(dir).sort()).toEqual(['audit-2026-12-05T07-00-00.000.log', 'audit.log']);
  });

  it('two rotations in one millisecond keep both backups', async () => {
    const path = join(dir, 'a.log');
    const w = new AuditLogWriter({
      path,
      maxSizeBytes: 150,
      maxBackups: 0,
      now: () => new Date('2026-12-05T07:00:00.000Z'),
    });
    for (let i = 0; i < 3; i++) w.write(line(i));
    await w.close();
    expect(readdirSync(dir).sort()).toEqual([
      'a-2026-12-05T07-00-00.000.log',
      'a-2026-12-05T07-00-00.001.log',
      'a.log',
    ]);
  });

  it('a line larger than the maximum size is dropped (lumberjack: write length exceeds maximum file size)', async () => {
    const path = join(dir, 'audit.log');
    const drops: string[] = [];
    const w = new AuditLogWriter({ path, maxSizeBytes: 500, maxBackups: 0, onDrop: (_n, why) => drops.push(why) });
    expect(w.write(line(1, 600))).toBe(false);
    expect(w.write(line(2))).toBe(true);
    await w.close();
    expect(drops).toEqual([`write length ${Buffer.byteLength(line(1, 600))} exceeds maximum file size 500`]);
    expect(readFileSync(path, 'utf8')).toBe(line(2));
  });

  it('a slow output never holds more than the queue bound: the rest is dropped and counted', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const got: string[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk.toString());
        void gate.then(() => cb());
      },
    });
    let dropped = 0;
    const w = new AuditLogWriter({
      path: '-',
      maxSizeBytes: 0,
      maxBackups: 0,
      maxQueueBytes: 10_000,
      maxQueueEvents: 1000,
      stdout: slow,
      onDrop: (n) => {
        dropped += n;
      },
    });
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      if (w.write(line(i))) accepted++;
      expect(w.queuedBytes).toBeLessThanOrEqual(10_000);
    }
    expect(dropped).toBe(5000 - accepted);
    expect(accepted).toBeLessThanOrEqual(Math.floor(10_000 / Buffer.byteLength(line(0))));
    expect(accepted).toBeGreaterThan(50);
    expect(w.dropped).toBe(dropped);
    release();
    await w.close();
    const written = got.join('').trim().split('\n');
    expect(written).toHaveLength(accepted);
    expect(w.written).toBe(accepted);
    expect(w.queuedBytes).toBe(0);
  });

  it('a path that cannot be written stops the start (ensureLogFile)', () => {
    writeFileSync(join(dir, 'plain'), 'x');
    expect(() => new AuditLogWriter({ path: join(dir, 'plain', 'audit.log'), maxSizeBytes: 0, maxBackups: 0 })).toThrow(
      /^--audit-log-path .*plain\/audit.log: cannot write the audit log: /,
    );
  });

  it('a file that cannot be opened loses the queued events, counted, and the writer carries on', async () => {
    const path = join(dir, 'sub', 'audit.log');
    let dropped = 0;
    const w = new AuditLogWriter({
      path,
      maxSizeBytes: 0,
      maxBackups: 0,
      onDrop: (n) => {
        dropped += n;
      },
    });
    rmSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'sub'), 'a file where the directory was');
    w.write(line(1));
    w.write(line(2));
    await w.flush();
    expect(dropped).toBe(2);
    expect(w.queuedBytes).toBe(0);
    await w.close();
  });
});
