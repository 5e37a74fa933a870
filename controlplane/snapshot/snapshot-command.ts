// `skiff-server snapshot save FILE` and `skiff-server snapshot restore FILE`: a consistent
// online snapshot of a running (or stopped) server's state, and its restore into a stopped
// server's data dir (snapshots.ts does the work).
import { Command, InvalidArgumentError } from 'commander';
import { parseDatastoreEndpoints } from '../config.js';
import { ETCD_RESTORE_HELP, restoreSnapshot, saveSnapshot } from './snapshots.js';

interface Opts {
  dataDir: string;
  datastoreEndpoint?: string;
  datastoreCafile?: string;
  datastoreCertfile?: string;
  datastoreKeyfile?: string;
}

function parse(argv: string[]): { verb: 'save' | 'restore'; file: string; o: Opts } {
  let verb: 'save' | 'restore' | undefined;
  let file = '';
  const cmd = new Command('skiff-server snapshot')
    .description("save a consistent snapshot of the cluster state, or restore one into a stopped server's data dir")
    .argument(
      '<save|restore>',
      'save: take a snapshot now (the server may be running); restore: put one in place (the server must be stopped)',
    )
    .argument('<file>', 'the snapshot file')
    .option('--data-dir <dir>', "the server's data dir", '/var/lib/skiff/server')
    .option('--datastore-endpoint <list>', "etcd members (save only): take etcd's own snapshot")
    .option('--datastore-cafile <file>', 'CA for TLS to etcd')
    .option('--datastore-certfile <file>', 'client certificate for etcd')
    .option('--datastore-keyfile <file>', 'client key for etcd')
    .action((v: string, f: string) => {
      if (v !== 'save' && v !== 'restore') throw new InvalidArgumentError(`want save or restore, got ${v}`);
      verb = v;
      file = f;
    })
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  return { verb: verb!, file, o: cmd.opts<Opts>() };
}

export async function snapshotCommand(argv: string[]): Promise<void> {
  let p: ReturnType<typeof parse>;
  try {
    p = parse(argv);
  } catch (e) {
    const err = e as { exitCode?: number; code?: string; message?: string };
    if (err.code?.startsWith('commander.')) process.exit(err.exitCode ?? 2);
    process.stderr.write(`skiff-server snapshot: ${err.message ?? String(e)}\n`);
    process.exit(2);
  }
  const { verb, file, o } = p;
  // the store's checkpointer thread is unref'd: hold the process open until the work is done
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    if (verb === 'save') {
      const datastore =
        o.datastoreEndpoint !== undefined
          ? {
              endpoints: parseDatastoreEndpoints(o.datastoreEndpoint),
              caFile: o.datastoreCafile,
              certFile: o.datastoreCertfile,
              keyFile: o.datastoreKeyfile,
            }
          : undefined;
      const r = await saveSnapshot({ dataDir: o.dataDir, datastore }, file);
      const what = r.kind === 'etcd' ? 'etcd snapshot' : `snapshot (with ${r.files} files of ${o.dataDir})`;
      process.stdout.write(`Snapshot saved: ${file}, ${what}, revision ${r.revision}, ${r.bytes} bytes\n`);
      return;
    }
    if (o.datastoreEndpoint !== undefined) {
      process.stderr.write(`skiff-server snapshot restore: restores SQLite snapshots only.\n${ETCD_RESTORE_HELP}\n`);
      process.exit(2);
    }
    const r = await restoreSnapshot(file, o.dataDir);
    process.stdout.write(
      `Snapshot restored into ${o.dataDir}: revision ${r.revision}, ${r.files} files of the data dir; ` +
        `revisions continue after ${r.restartsAt}, so watches from before the restore get 410 Gone and list again. Start skiff-server now.\n`,
    );
  } catch (e) {
    process.stderr.write(`skiff-server snapshot ${verb}: ${(e as Error).message}\n`);
    process.exit(1);
  } finally {
    clearInterval(keepAlive);
  }
}
