// The audit log file: JSON lines appended off the request path, rotated by size as
// kube-apiserver's lumberjack logger does (<name>-<UTC 2006-01-02T15-04-05.000>.<ext>,
// at most maxBackups kept). Requests only enqueue; one async loop writes. The queue is
// bounded in bytes and events: when the disk cannot keep up, new events are dropped and
// counted (apiserver_audit_error_total), never held without bound.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

export const MEGABYTE = 1024 * 1024;
/** lumberjack's default when MaxSize is 0 */
const DEFAULT_MAX_SIZE = 100 * MEGABYTE;
const CHUNK_BYTES = 256 * 1024;

export interface AuditWriterOptions {
  /** the file, or '-' for standard output */
  path: string;
  /** rotate before a write would grow the file past this; 0: 100 MiB */
  maxSizeBytes: number;
  /** rotated files kept; 0: all */
  maxBackups: number;
  /** queued, unwritten bytes at most (default 16 MiB) */
  maxQueueBytes?: number;
  /** queued events at most (default 10000, kube-apiserver's buffer size) */
  maxQueueEvents?: number;
  now?: () => Date;
  /** events lost: queue full, too large for the file, or a failed write */
  onDrop?: (events: number, why: string) => void;
  /** where '-' writes (tests); default process.stdout */
  stdout?: NodeJS.WritableStream;
}

/** lumberjack backupName: foo.log → foo-2026-12-05T07-25-44.123.log (UTC) */
export function backupName(path: string, t: Date): string {
  const file = basename(path);
  const ext = extname(file);
  const prefix = file.slice(0, file.length - ext.length);
  const stamp = t.toISOString().slice(0, 23).replace(/:/g, '-');
  return join(dirname(path), `${prefix}-${stamp}${ext}`);
}

const STAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

/** the backups of `path` among `names` (a directory listing), newest first: lumberjack's oldLogFiles */
export function backupsOf(path: string, names: string[]): string[] {
  const file = basename(path);
  const ext = extname(file);
  const prefix = `${file.slice(0, file.length - ext.length)}-`;
  const dated: { name: string; t: number }[] = [];
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith(ext) || n.length <= prefix.length + ext.length) continue;
    const m = STAMP.exec(n.slice(prefix.length, n.length - ext.length));
    if (!m) continue;
    const t = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
    if (!Number.isNaN(t)) dated.push({ name: n, t });
  }
  return dated.sort((a, b) => b.t - a.t || (a.name < b.name ? 1 : -1)).map((d) => d.name);
}

/** which backups to remove so that maxBackups remain (0: keep all) */
export function backupsToRemove(path: string, names: string[], maxBackups: number): string[] {
  if (maxBackups <= 0) return [];
  return backupsOf(path, names).slice(maxBackups);
}

interface Queued {
  line: string;
  bytes: number;
}

export class AuditLogPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditLogPathError';
    this.stack = message; // main.ts prints the stack of what stops the start
  }
}

export class AuditLogWriter {
  private queue: Queued[] = [];
  private head = 0;
  private queued = 0;
  private fh: FileHandle | undefined;
  private size = 0;
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly max: number;
  private readonly maxQueueBytes: number;
  private readonly maxQueueEvents: number;
  private readonly now: () => Date;
  /** events written, and lost */
  written = 0;
  dropped = 0;
  rotations = 0;

  constructor(private readonly o: AuditWriterOptions) {
    this.max = o.maxSizeBytes > 0 ? o.maxSizeBytes : DEFAULT_MAX_SIZE;
    this.maxQueueBytes = o.maxQueueBytes ?? 16 * MEGABYTE;
    this.maxQueueEvents = o.maxQueueEvents ?? 10_000;
    this.now = o.now ?? (() => new Date());
    // as kube-apiserver's ensureLogFile: a path that cannot be written stops the start
    if (o.path !== '-') {
      try {
        mkdirSync(dirname(o.path), { recursive: true, mode: 0o755 });
        closeSync(openSync(o.path, 'a', 0o600));
      } catch (e) {
        throw new AuditLogPathError(`--audit-log-path ${o.path}: cannot write the audit log: ${(e as Error).message}`);
      }
    }
  }

  /** bytes waiting to be written */
  get queuedBytes(): number {
    return this.queued;
  }

  /** queue one event line (ending in \n); false when it was dropped. Never waits. */
  write(line: string): boolean {
    if (this.closed) return this.drop(1, 'closed');
    const bytes = Buffer.byteLength(line);
    if (this.o.path !== '-' && bytes > this.max)
      return this.drop(1, `write length ${bytes} exceeds maximum file size ${this.max}`);
    if (this.queued + bytes > this.maxQueueBytes || this.queue.length - this.head >= this.maxQueueEvents)
      return this.drop(1, 'audit buffer full');
    this.queue.push({ line, bytes });
    this.queued += bytes;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return true;
  }

  /** resolves once everything queued so far is written (or dropped) */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  private drop(n: number, why: string): false {
    this.dropped += n;
    this.o.onDrop?.(n, why);
    return false;
  }

  /** the next lines that fit in the current file (rotating first when the next one does not) */
  private take(): Queued[] {
    const batch: Queued[] = [];
    let bytes = 0;
    while (this.head < this.queue.length && bytes < CHUNK_BYTES) {
      const q = this.queue[this.head]!;
      if (this.o.path !== '-' && this.size + bytes + q.bytes > this.max) break;
      batch.push(q);
      bytes += q.bytes;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private async drain(): Promise<void> {
    while (this.head < this.queue.length) {
      let batch: Queued[];
      try {
        if (this.o.path === '-') batch = this.take();
        else {
          if (!this.fh) await this.openExisting();
          batch = this.take();
          if (!batch.length) {
            await this.rotate();
            continue;
          }
        }
      } catch (e) {
        // cannot open or rotate: lose what is queued rather than hold it
        const n = this.queue.length - this.head;
        this.queue = [];
        this.head = 0;
        this.queued = 0;
        this.drop(n, `audit log ${this.o.path}: ${(e as Error).message}`);
        await this.fh?.close().catch(() => undefined);
        this.fh = undefined;
        continue;
      }
      const bytes = batch.reduce((s, q) => s + q.bytes, 0);
      const data = batch.map((q) => q.line).join('');
      try {
        if (this.o.path === '-') await writeStream(this.o.stdout ?? process.stdout, data);
        else {
          await this.fh!.write(data);
          this.size += bytes;
        }
        this.written += batch.length;
      } catch (e) {
        this.drop(batch.length, `audit log ${this.o.path}: ${(e as Error).message}`);
        await this.fh?.close().catch(() => undefined);
        this.fh = undefined;
      } finally {
        this.queued -= bytes;
      }
    }
    this.queue = [];
    this.head = 0;
  }

  /** openExistingOrNew: append to the file that is there (rotating it first if the next line would not fit) */
  private async openExisting(): Promise<void> {
    let size = 0;
    try {
      size = (await stat(this.o.path)).size;
    } catch {
      /* new */
    }
    this.fh = await open(this.o.path, 'a', 0o600);
    this.size = size;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    let t = this.now();
    let name = backupName(this.o.path, t);
    // two rotations within a millisecond must not overwrite the first backup
    while (await exists(name)) {
      t = new Date(t.getTime() + 1);
      name = backupName(this.o.path, t);
    }
    try {
      await rename(this.o.path, name);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
    this.fh = await open(this.o.path, 'a', 0o600);
    this.size = 0;
    this.rotations++;
    const dir = dirname(this.o.path);
    for (const old of backupsToRemove(this.o.path, await readdir(dir), this.o.maxBackups))
      await unlink(join(dir, old)).catch(() => undefined);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function writeStream(s: NodeJS.WritableStream, data: string): Promise<void> {
  return new Promise((res, rej) => {
    const ok = s.write(data, (err) => {
      if (err) rej(err);
      else if (ok) res();
    });
    if (!ok) s.once('drain', () => res());
  });
}
