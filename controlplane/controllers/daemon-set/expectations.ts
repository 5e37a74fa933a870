// ControllerExpectations for the DaemonSet controller: after creating or deleting pods a
// DaemonSet is not managed again until the informer has seen those writes (or a timeout
// passed), so a lagging cache never makes it create a second pod for the same node.
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Entry {
  adds: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS,
  ) {}

  /** creations of `adds` pods and the deletion of these pod uids are in flight */
  expect(key: string, adds: number, deleteUids: Iterable<string>): void {
    this.entries.set(key, { adds, deletes: new Set(deleteUids), at: this.now() });
  }

  creationObserved(key: string): void {
    const e = this.entries.get(key);
    if (e) e.adds--;
  }

  /** a pod was seen with a deletionTimestamp, or gone */
  deletionObserved(key: string, uid: string): void {
    this.entries.get(key)?.deletes.delete(uid);
  }

  satisfied(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.now() - e.at > this.timeoutMs;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
