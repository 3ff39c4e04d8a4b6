/**
 * Expectations (upstream's controller.ControllerExpectations): after a sync creates or deletes N
 * objects, the controller's key waits until the informer has shown all N (or 5 minutes pass)
 * before it syncs again — otherwise a sync that runs before its own writes are visible would
 * create them a second time.
 */
import type { Clock } from "@kubemu/common";

/** How long an unfulfilled expectation blocks syncs (upstream's ExpectationsTimeout). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  at: number;
}

export class ControllerExpectations {
  private readonly items = new Map<string, Expectation>();

  constructor(private readonly clock: Clock) {}

  /** True when the key may sync: nothing expected, everything observed, or the expectation expired. */
  satisfied(key: string): boolean {
    const e = this.items.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.at > EXPECTATIONS_TIMEOUT_MS;
  }

  /** The expectation's counts, for logs and tests. */
  get(key: string): { add: number; del: number } | undefined {
    const e = this.items.get(key);
    return e ? { add: e.add, del: e.del } : undefined;
  }

  set(key: string, add: number, del: number): void {
    this.items.set(key, { add, del, at: this.clock.now() });
  }

  expectCreations(key: string, n: number): void {
    this.set(key, n, 0);
  }

  expectDeletions(key: string, n: number): void {
    this.set(key, 0, n);
  }

  /** Adds to what is expected without resetting the timestamp. */
  raise(key: string, add: number, del: number): void {
    const e = this.items.get(key);
    if (!e) return;
    e.add += add;
    e.del += del;
  }

  /** An observed (or failed) create or delete: one fewer to wait for. */
  lower(key: string, add: number, del: number): void {
    const e = this.items.get(key);
    if (!e) return;
    e.add -= add;
    e.del -= del;
  }

  creationObserved(key: string): void {
    this.lower(key, 1, 0);
  }

  deletionObserved(key: string): void {
    this.lower(key, 0, 1);
  }

  delete(key: string): void {
    this.items.delete(key);
  }
}

/**
 * Deletions tracked by the deleted objects' keys (upstream's UIDTrackingControllerExpectations):
 * a pod that was already terminating when the controller chose to delete it is not counted twice.
 */
export class UidTrackingExpectations extends ControllerExpectations {
  private readonly uids = new Map<string, Set<string>>();

  /** Expects the deletion of these pods (by `namespace/name` key). */
  expectDeletionsOf(key: string, podKeys: readonly string[]): void {
    this.uids.set(key, new Set(podKeys));
    this.expectDeletions(key, podKeys.length);
  }

  /** Counts the deletion only if it was expected. */
  deletionObservedOf(key: string, podKey: string): void {
    const set = this.uids.get(key);
    if (set?.delete(podKey)) this.deletionObserved(key);
  }

  expectedDeletions(key: string): ReadonlySet<string> {
    return this.uids.get(key) ?? new Set();
  }

  override delete(key: string): void {
    super.delete(key);
    this.uids.delete(key);
  }
}
