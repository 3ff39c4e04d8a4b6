/** What the etcd benchmark needs from a 3-member store, whichever implementation runs it. */

export interface FsyncTotals {
  count: number;
  seconds: number;
}

/** Reads the WAL fsync histogram's _count and _sum from Prometheus text (both stores use etcd's metric name). */
export function parseFsyncTotals(metrics: string): FsyncTotals {
  const value = (suffix: string) => {
    const m = new RegExp(`^etcd_disk_wal_fsync_duration_seconds_${suffix}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(metrics);
    if (!m) throw new Error(`no etcd_disk_wal_fsync_duration_seconds_${suffix} in /metrics`);
    return Number(m[1]);
  };
  return { count: value("count"), seconds: value("sum") };
}

/** A client for the load: one request per worker at a time. */
export interface LoadClient {
  put(key: string, value: string): Promise<void>;
  /** A linearizable read of one key. */
  get(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface StoreUnderTest {
  /** "kubemu" or "etcd". */
  readonly label: string;
  /** How the load reaches it (printed with the results). */
  readonly clientDescription: string;
  readonly memberCount: number;
  /** Starts every member and waits for a leader. */
  start(): Promise<void>;
  /** Index of the member every running member agrees leads (waits up to timeoutMs). */
  leader(timeoutMs?: number): Promise<number>;
  /** A client sized for `concurrency` workers, already warmed up against the leader; requests give up after requestTimeoutMs (default 10 s). */
  client(concurrency: number, requestTimeoutMs?: number): Promise<LoadClient>;
  /**
   * Watches `prefix` from a member that does not lead (as most watchers do) and calls onEvent
   * for every PUT. Resolves once the watch is established; call the returned cancel to end it.
   */
  watch(prefix: string, onEvent: (key: string, value: string) => void): Promise<() => void>;
  /** Member i's WAL fsync totals (etcd_disk_wal_fsync_duration_seconds, from its /metrics). */
  walFsync(i: number): Promise<FsyncTotals>;
  /** SIGKILLs member i. */
  kill(i: number): Promise<void>;
  /** Starts member i again on its data dir and waits until it serves. */
  restart(i: number): Promise<void>;
  /** Stops every member (SIGTERM, then SIGKILL) and removes the data dirs. */
  stop(): Promise<void>;
}
