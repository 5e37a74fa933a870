// Work only the Lease holder runs (the controller manager, the scheduler), started when
// its elector wins a term and stopped the moment the term ends; the server then stays a
// candidate (kube-controller-manager exits instead, because Go cannot stop its goroutines:
// here the work is stopped in process and its writes are fenced). Every write of the work
// goes through a view of the storage that refuses writes once the term is over, so a sync
// still in flight when the lease is lost cannot land a write after another server took over.
import type { Logger } from 'pino';
import type { ApiStorage } from '../api/storage.js';
import { ApiError } from '../api/errors.js';
import { LeaderElector, type LeaderElectorOptions, type Term } from './leader-elector.js';

export interface LeaderWork {
  stop(): void;
}

const WRITES = ['create', 'update', 'guaranteedUpdate', 'patch', 'delete', 'deleteCollection'] as const;

/** a view of `storage` whose writes fail with 503 once `term` is no longer active (reads and watches pass) */
export function fencedStorage(storage: ApiStorage, term: Term, lease: string): ApiStorage {
  const view = Object.create(storage) as ApiStorage;
  const fenced: Record<string, unknown> = {};
  for (const m of WRITES) {
    const original = storage[m] as (...a: unknown[]) => Promise<unknown>;
    fenced[m] = (...a: unknown[]) => {
      if (!term.active)
        return Promise.reject(
          new ApiError(
            503,
            'ServiceUnavailable',
            `leader election lost: this server no longer holds the ${lease} lease`,
          ),
        );
      return original.apply(storage, a);
    };
  }
  Object.assign(view, fenced);
  view.withFieldManager = (m: string) => fencedStorage(storage.withFieldManager(m), term, lease);
  return view;
}

export interface LeaderOnlyOptions extends Omit<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading' | 'log'> {
  log: Logger;
  /** start the work on the fenced storage */
  start(storage: ApiStorage): Promise<LeaderWork>;
}

/** run `start` while this server holds the Lease `name`; stop() ends the work and releases the Lease */
export class LeaderOnly {
  readonly elector: LeaderElector;
  private work: Promise<LeaderWork | undefined> | undefined;

  constructor(private readonly opts: LeaderOnlyOptions) {
    this.elector = new LeaderElector({
      ...opts,
      onStartedLeading: (term) => this.begin(term),
      onStoppedLeading: () => this.end(),
    });
  }

  /** resolves after the first try, and the work started when it won */
  async start(): Promise<void> {
    await this.elector.start();
    await this.current();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    await this.end();
  }

  /** the work of the current term once started (undefined when not leading) */
  current(): Promise<LeaderWork | undefined> {
    return this.work ?? Promise.resolve(undefined);
  }

  private begin(term: Term): Promise<void> {
    const work = (async () => {
      const w = await this.opts.start(fencedStorage(this.opts.storage, term, this.opts.name));
      // the term may have ended while the work was starting
      if (!term.active) {
        w.stop();
        return undefined;
      }
      this.opts.log.info({ lease: this.opts.name }, 'started leading');
      return w;
    })();
    this.work = work;
    return work.then(() => undefined);
  }

  private async end(): Promise<void> {
    const work = this.work;
    this.work = undefined;
    const w = await work?.catch(() => undefined);
    w?.stop();
  }
}
