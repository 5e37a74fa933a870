// Snapshots of an etcd datastore: etcd's own Maintenance.Snapshot stream, written byte for
// byte (the member's backend database with etcd's trailing sha256), so the file is an
// ordinary etcd snapshot: `etcdctl snapshot status` reads it and `etcdutl snapshot restore`
// (etcd 3.5+; `etcdctl snapshot restore` on 3.4) makes a member's data dir from it.
import { chmodSync, closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { ISnapshotResponse } from 'etcd3';
import type { EtcdStore } from './etcd.js';
import type { SnapshotInfo } from './sqlite-snapshot.js';

/** stream a snapshot from one of the members into `file` (file.part, renamed when complete; mode 0600) */
export async function saveEtcdSnapshot(store: EtcdStore, file: string, timeoutMs = 10 * 60_000): Promise<SnapshotInfo> {
  // every write acknowledged before this read is in the snapshot, which is taken after it
  const revision = await store.currentRevision();
  const part = `${file}.part`;
  rmSync(part, { force: true });
  const fd = openSync(part, 'w', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`etcd snapshot not complete after ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
      store.etcd.maintenance.snapshot().then(
        (stream) => {
          let done = false;
          stream.on('data', (r: ISnapshotResponse) => {
            try {
              writeSync(fd, r.blob);
              if (Number(r.remaining_bytes) === 0) done = true;
            } catch (e) {
              reject(e);
            }
          });
          stream.on('error', (e: Error) => {
            clearTimeout(timer);
            reject(e);
          });
          stream.on('end', () => {
            clearTimeout(timer);
            if (done) resolve();
            else reject(new Error('etcd ended the snapshot stream early'));
          });
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  } catch (e) {
    closeSync(fd);
    rmSync(part, { force: true });
    throw e;
  }
  closeSync(fd);
  chmodSync(part, 0o600);
  renameSync(part, file);
  return { revision, bytes: statSync(file).size, files: 0 };
}
