// The audit backend of one server: the policy, the log writer and kube-apiserver's audit
// metrics. Built from the --audit-* flags (a policy file that does not load stops the
// start); the request hooks (hooks.ts) hand it events.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AuditEvent } from './event.js';
import { DEFAULT_POLICY, loadPolicyFile, type AuditLevel, type AuditPolicy, type AuditStage } from './policy.js';
import { AuditLogWriter, MEGABYTE } from './writer.js';

export interface AuditConfig {
  auditLogPath?: string;
  auditPolicyFile?: string;
  auditLogMaxSizeMb?: number;
  auditLogMaxBackup?: number;
}

export class Auditor {
  private events?: Counter<string>;
  private errors?: Counter<'plugin'>;
  private levels?: Counter<'level'>;
  private lastDropLog = 0;

  constructor(
    readonly policy: AuditPolicy,
    readonly writer: AuditLogWriter,
    private readonly log?: Logger,
  ) {}

  /** kube-apiserver's audit counters, served on /metrics */
  registerMetrics(registry: Registry): void {
    this.events = new Counter({
      name: 'apiserver_audit_event_total',
      help: 'Counter of audit events generated and sent to the audit backend.',
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'apiserver_audit_error_total',
      help: 'Counter of audit events that failed to be audited properly. Plugin identifies the plugin affected by the error.',
      labelNames: ['plugin'],
      registers: [registry],
    });
    this.levels = new Counter({
      name: 'apiserver_audit_level_total',
      help: 'Counter of policy levels for audit events (1 per request).',
      labelNames: ['level'],
      registers: [registry],
    });
  }

  /** ObservePolicyLevel: once per request */
  observeLevel(level: AuditLevel): void {
    this.levels?.inc({ level });
  }

  /** processAuditEvent: unless the stage is omitted, serialise and queue (never waits) */
  process(ev: AuditEvent, omitStages: AuditStage[]): void {
    if (omitStages.includes(ev.stage)) return;
    this.events?.inc();
    this.writer.write(`${JSON.stringify(ev)}\n`);
  }

  /** the writer lost events: count them, and say so in the server log at most every 10 s */
  dropped(n: number, why: string): void {
    this.errors?.inc({ plugin: 'log' }, n);
    const now = Date.now();
    if (now - this.lastDropLog < 10_000) return;
    this.lastDropLog = now;
    this.log?.warn({ events: n, why, droppedTotal: this.writer.dropped }, 'audit events dropped');
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** the auditor the flags ask for, or undefined without --audit-log-path; throws on a bad policy */
export function createAuditor(cfg: AuditConfig, log?: Logger): Auditor | undefined {
  if (!cfg.auditLogPath) return undefined;
  const policy = cfg.auditPolicyFile ? loadPolicyFile(cfg.auditPolicyFile) : DEFAULT_POLICY;
  let auditor: Auditor | undefined;
  const writer = new AuditLogWriter({
    path: cfg.auditLogPath,
    maxSizeBytes: (cfg.auditLogMaxSizeMb ?? 100) * MEGABYTE,
    maxBackups: cfg.auditLogMaxBackup ?? 10,
    onDrop: (n, why) => auditor?.dropped(n, why),
  });
  auditor = new Auditor(policy, writer, log);
  return auditor;
}
