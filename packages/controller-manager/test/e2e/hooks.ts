/**
 * What every e2e file here does around its tests: start the harness's processes (and create the
 * nodes its pods go to) before the first test, and stop every process by pid after the last —
 * also when a test or the file's own teardown failed. Plus the one kubectl-table helper the
 * files share.
 */
import { afterAll, beforeAll } from "vitest";
import type { ManagerHarness } from "./harness.js";

export interface ClusterHooks {
  /** Nodes created once the cluster is up (no kubelets: they only exist as API objects). */
  nodes?: readonly string[];
  /** More setup after start (and nodes), e.g. a namespace or a kubelet-playing loop. */
  afterStart?(): Promise<void> | void;
  /** Teardown before the processes are stopped (stopping a kubelet-playing loop). */
  beforeStop?(): Promise<void> | void;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

/** Registers the file's beforeAll (start) and afterAll (stop) for `h`. */
export function useCluster(h: ManagerHarness, o: ClusterHooks = {}): void {
  beforeAll(async () => {
    await h.start();
    for (const n of o.nodes ?? []) await h.createNode(n);
    await o.afterStart?.();
  }, o.startTimeoutMs ?? 120_000);

  afterAll(async () => {
    try {
      await o.beforeStop?.();
    } finally {
      await h.stop();
    }
  }, o.stopTimeoutMs ?? 30_000);
}

/** The cells of the `kubectl get` output row whose first column is `name` (split on white space). */
export function tableRow(out: string, name: string): string[] | undefined {
  return out
    .split("\n")
    .find((l) => l.startsWith(`${name} `))
    ?.trim()
    .split(/\s+/);
}
