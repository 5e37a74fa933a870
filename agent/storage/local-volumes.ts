// The node's side of the local-path provisioner: the server asks (volumeCreate /
// volumeDelete over the agent's connection) and this module makes or removes
// `<base>/<pvName>` — base being the StorageClass's "path" parameter or, by default,
// `<agent data-dir>/storage`. The agent trusts the request no further than that:
//   - pvName is a DNS-1123 subdomain, so it is exactly one path element (no "/", "..");
//   - the base is an absolute, normalised path, not "/" and not inside /proc, /sys, /dev;
//   - a directory is created only if it does not exist yet, and recorded (a small JSON file
//     per volume under `<data-dir>/storage-volumes/`, 0600, out of every container's reach);
//   - a delete removes only a path this agent recorded for that pvName, and only if it is
//     still a real directory (not a symlink): an agent never deletes a path the server
//     merely names, nor an existing directory it was asked to "create" (`/` + `etc`).
// Volume directories are 0777 as rancher's local-path provisioner makes them, so a
// container running as any uid can write its volume without fsGroup (hostPath/local PVs
// written by an admin are not chowned either); the default base is 0700 so that on the
// host only root reaches the data (containers get it through their bind mount).
// Failures (EACCES, ENOSPC, EROFS…) come back as Go-style messages ("mkdir /x: permission
// denied") and leave nothing behind.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PV_NAME_RE } from '../../proto/agent-protocol.js';

export const STORAGE_DIR = 'storage';
const RECORDS_DIR = 'storage-volumes';
const FORBIDDEN_BASES = ['/proc', '/sys', '/dev'];

export interface VolumeRecord {
  pvName: string;
  path: string;
  sizeBytes: number;
  createdAt: string;
}

export class VolumeRequestError extends Error {}

/** errno codes as Go's syscall errors print them (what kubelet/provisioners report) */
const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'not a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'file exists',
  ENAMETOOLONG: 'file name too long',
  EIO: 'input/output error',
  EBUSY: 'device or resource busy',
};

export function fsErrorText(op: string, path: string, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const text = typeof code === 'string' ? ERRNO_TEXT[code] : undefined;
  return `${op} ${path}: ${text ?? (err instanceof Error ? err.message : String(err))}`;
}

/** why `base` may not hold volumes, or undefined when it may */
export function baseError(base: string): string | undefined {
  if (!base.startsWith('/') || base.includes('\0')) return `base path "${base}" is not an absolute path`;
  const norm = posix.normalize(base).replace(/(.)\/+$/, '$1');
  if (norm !== base.replace(/(.)\/+$/, '$1')) return `base path "${base}" is not normalised`;
  if (norm === '/') return 'base path "/" is not allowed';
  for (const f of FORBIDDEN_BASES)
    if (norm === f || norm.startsWith(`${f}/`)) return `base path "${base}" is inside ${f}`;
  return undefined;
}

export function pvNameError(pvName: string): string | undefined {
  if (pvName.length === 0 || pvName.length > 253 || !PV_NAME_RE.test(pvName))
    return `volume name "${pvName}" is not a DNS-1123 subdomain`;
  return undefined;
}

export class LocalVolumes {
  readonly defaultBase: string;
  private readonly records: string;

  constructor(private readonly dataDir: string) {
    this.defaultBase = join(dataDir, STORAGE_DIR);
    this.records = join(dataDir, RECORDS_DIR);
  }

  private recordFile(pvName: string): string {
    return join(this.records, `${pvName}.json`);
  }

  /** the record of a volume this agent made, if any */
  record(pvName: string): VolumeRecord | undefined {
    if (pvNameError(pvName)) return undefined;
    try {
      const v = JSON.parse(readFileSync(this.recordFile(pvName), 'utf8')) as Partial<VolumeRecord>;
      if (typeof v.path !== 'string' || v.pvName !== pvName) return undefined;
      return {
        pvName,
        path: v.path,
        sizeBytes: typeof v.sizeBytes === 'number' ? v.sizeBytes : 0,
        createdAt: String(v.createdAt ?? ''),
      };
    } catch {
      return undefined;
    }
  }

  private writeRecord(r: VolumeRecord): void {
    mkdirSync(this.records, { recursive: true, mode: 0o700 });
    const file = this.recordFile(r.pvName);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(r), { mode: 0o600 });
    renameSync(tmp, file);
  }

  /**
   * Make `<base>/<pvName>` (0777). Idempotent for a directory this agent made for the same
   * name (the server retrying after a lost answer); refuses an existing directory it did not
   * make. Throws VolumeRequestError with the reason; nothing is left half-made.
   */
  create(req: { pvName: string; basePath?: string; sizeBytes: number }): string {
    const bad = pvNameError(req.pvName);
    if (bad) throw new VolumeRequestError(bad);
    const base = (req.basePath ?? this.defaultBase).replace(/(.)\/+$/, '$1');
    const badBase = baseError(base);
    if (badBase) throw new VolumeRequestError(badBase);
    const path = join(base, req.pvName);
    const known = this.record(req.pvName);
    if (known) {
      if (known.path !== path)
        throw new VolumeRequestError(`volume "${req.pvName}" already exists on this node at ${known.path}`);
      if (isRealDir(path)) return path;
      // recorded but gone (someone removed it by hand): make it again
    } else if (existsSync(path) || isSymlink(path)) {
      throw new VolumeRequestError(
        `${path} already exists and was not created by this agent for volume "${req.pvName}"`,
      );
    }
    try {
      if (!existsSync(base)) mkdirSync(base, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new VolumeRequestError(fsErrorText('mkdir', base, e));
    }
    try {
      mkdirSync(path, { mode: 0o777 });
    } catch (e) {
      throw new VolumeRequestError(fsErrorText('mkdir', path, e));
    }
    try {
      chmodSync(path, 0o777); // whatever the umask
      this.writeRecord({ pvName: req.pvName, path, sizeBytes: req.sizeBytes, createdAt: new Date().toISOString() });
    } catch (e) {
      rmSync(path, { recursive: true, force: true });
      throw new VolumeRequestError(fsErrorText('create volume', path, e));
    }
    return path;
  }

  /**
   * Remove (recursively) a volume this agent made: `path` must be what it recorded for `pvName`. Removing
   * one already gone succeeds (and forgets it). Throws VolumeRequestError with the reason.
   */
  async remove(req: { pvName: string; path: string }): Promise<void> {
    const bad = pvNameError(req.pvName);
    if (bad) throw new VolumeRequestError(bad);
    const known = this.record(req.pvName);
    if (!known) {
      // nothing recorded: either never made here (refuse), or already removed (nothing to do)
      if (!existsSync(req.path) && !isSymlink(req.path)) return;
      throw new VolumeRequestError(
        `${req.path} was not created by this agent for volume "${req.pvName}": not deleting it`,
      );
    }
    if (known.path !== req.path)
      throw new VolumeRequestError(
        `volume "${req.pvName}" is at ${known.path} on this node, not ${req.path}: not deleting it`,
      );
    if (isSymlink(req.path)) throw new VolumeRequestError(`${req.path} is a symbolic link: not deleting it`);
    if (existsSync(req.path)) {
      if (!isRealDir(req.path)) throw new VolumeRequestError(`${req.path} is not a directory: not deleting it`);
      try {
        // asynchronous: a big volume must not stall the agent's heartbeats
        await rm(req.path, { recursive: true });
      } catch (e) {
        throw new VolumeRequestError(fsErrorText('remove', req.path, e));
      }
    }
    rmSync(this.recordFile(req.pvName), { force: true });
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function isRealDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}
