#!/usr/bin/env node
// skiff-server: read flags, run the server (server.ts), stop cleanly on SIGTERM; an
// exception nothing caught is reported as a bug and ends the process (systemd restarts it).
import { parseServerArgs, type ServerConfig } from './config.js';
import { installCrashReporters } from '../proto/crash-report.js';
import { runServer } from './server.js';

async function main(): Promise<void> {
  installCrashReporters('skiff-server');
  let cfg: ServerConfig;
  try {
    cfg = parseServerArgs(process.argv.slice(2));
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    process.exit(code ?? 2);
  }
  const server = await runServer(cfg);
  const shutdown = (sig: string) => {
    process.stderr.write(`skiff-server: ${sig}, shutting down\n`);
    const t = setTimeout(() => process.exit(1), 10_000);
    t.unref();
    server.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`skiff-server: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
