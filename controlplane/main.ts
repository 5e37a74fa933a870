#!/usr/bin/env node
// skiff-server: read flags, run the server (server.ts), stop cleanly on SIGTERM; an
// exception nothing caught is reported as a bug and ends the process (systemd restarts it).
// `skiff-server kubeconfig --user NAME …` prints a kubeconfig for a new person instead
// (certificates/kubeconfig-command.ts); `skiff-server snapshot save|restore FILE` takes or
// restores a snapshot of the cluster state (snapshot/snapshot-command.ts).
// Map of the code base: ARCHITECTURE.md, "The parts".
import { CommanderError, InvalidArgumentError } from 'commander';
import { parseServerArgs, type ServerConfig } from './config.js';
import { installCrashReporters } from '../proto/crash-report.js';
import { runServer } from './server.js';
import { loopbackNote, makeUserKubeconfig, parseKubeconfigArgs } from './certificates/kubeconfig-command.js';
import { snapshotCommand } from './snapshot/snapshot-command.js';
import { BootstrapError } from './security/bootstrap-sync.js';

async function kubeconfigCommand(argv: string[]): Promise<void> {
  let opts;
  try {
    opts = parseKubeconfigArgs(argv);
  } catch (e) {
    const err = e as { exitCode?: number; code?: string; message?: string };
    if (err.code?.startsWith('commander.')) process.exit(err.exitCode ?? 2);
    process.stderr.write(`skiff-server kubeconfig: ${err.message ?? String(e)}\n`);
    process.exit(2);
  }
  try {
    const text = await makeUserKubeconfig(opts);
    process.stdout.write(text);
    const note = loopbackNote(/^\s*server:\s*"([^"]+)"/m.exec(text)?.[1] ?? '');
    if (note) process.stderr.write(`skiff-server kubeconfig: ${note}\n`);
  } catch (e) {
    process.stderr.write(`skiff-server kubeconfig: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'kubeconfig') return kubeconfigCommand(process.argv.slice(3));
  if (process.argv[2] === 'snapshot') return snapshotCommand(process.argv.slice(3));
  installCrashReporters('skiff-server');
  let cfg: ServerConfig;
  try {
    cfg = parseServerArgs(process.argv.slice(2));
  } catch (e) {
    // commander has printed its own parse errors; our checks of the values (InvalidArgumentError
    // thrown after parsing, e.g. overlapping CIDRs) are printed here, not left silent
    if (e instanceof InvalidArgumentError || !(e instanceof CommanderError))
      process.stderr.write(`skiff-server: ${(e as Error).message}\n`);
    const code = (e as { exitCode?: number }).exitCode;
    process.exit(code ?? 2);
  }
  const server = await runServer(cfg);
  const shutdown = (sig: string) => {
    process.stderr.write(`skiff-server: ${sig}, shutting down\n`);
    const t = setTimeout(() => process.exit(1), 10_000);
    t.unref();
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e) => {
  // a refusal the operator fixes (the wrong token, another cluster's keys) reads as a message, not a bug
  if (e instanceof BootstrapError) {
    process.stderr.write(`skiff-server: ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`skiff-server: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
