// The last line of defence of both daemons (skiff-server, skiff-agent).
/**
 * An exception nothing caught, or a rejected promise nobody awaited, is a bug: report
 * it with its stack and exit non-zero, so the service manager restarts the daemon
 * (Restart=always) rather than it going on in an unknown state or dying silently.
 */
export function installCrashReporters(name: string, exit: (code: number) => void = (c) => process.exit(c)): void {
  const report = (kind: string) => (e: unknown) => {
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    try {
      process.stderr.write(
        `${name}: BUG: ${kind}: ${detail}\n${name}: please report this with the lines above; exiting so the service manager restarts it\n`,
      );
    } finally {
      exit(70); // EX_SOFTWARE
    }
  };
  process.on('uncaughtException', report('uncaught exception'));
  process.on('unhandledRejection', report('unhandled promise rejection'));
}
