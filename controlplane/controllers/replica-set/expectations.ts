// Creations and deletions a controller is still waiting to see in its cache
// (controller_utils.go ControllerExpectations + UIDTrackingControllerExpectations): a sync
// does not manage replicas again until the informer has caught up with its own writes, so a
// slow watch never causes double creates or double deletes. Expectations expire after 5
// minutes so a lost event cannot wedge a controller.

export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  at: number;
  /** pod keys whose deletion we wait to observe (UID tracking: each counts once) */
  deleting: Set<string>;
}

export class ControllerExpectations {
  private items = new Map<string, Expectation>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS,
  ) {}

  /** true when the controller may act: no expectations, all observed, or expired */
  satisfied(key: string): boolean {
    const e = this.items.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.now() - e.at > this.timeoutMs;
  }

  expectCreations(key: string, n: number): void {
    this.items.set(key, { add: n, del: 0, at: this.now(), deleting: new Set() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    const deleting = new Set(podKeys);
    this.items.set(key, { add: 0, del: deleting.size, at: this.now(), deleting });
  }

  creationObserved(key: string): void {
    const e = this.items.get(key);
    if (e) e.add--;
  }

  /** counts once per pod key, whether seen as a deletionTimestamp update or as the delete itself */
  deletionObserved(key: string, podKey: string): void {
    const e = this.items.get(key);
    if (e && e.deleting.delete(podKey)) e.del--;
  }

  delete(key: string): void {
    this.items.delete(key);
  }

  /** pending (add, del) for a key, for tests and logs */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.items.get(key);
    return e ? { add: e.add, del: e.del } : undefined;
  }
}
