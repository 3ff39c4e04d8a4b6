/**
 * A pod's status writes, off the pod worker's path (upstream's status manager): the worker hands
 * over each status it computes and goes on starting containers; at most one write per pod is in
 * flight, and a status handed over meanwhile replaces any still waiting, so only the newest is
 * written next. A burst of pods then costs one API round trip per pod per state that is still
 * current when its turn comes, and no pod waits for its own Pending write before its sandbox
 * and containers start.
 */
export class StatusWriter<S> {
  private waiting: { status: S; done: (() => void)[] } | undefined;
  private writing: Promise<void> | undefined;

  /** write: posts one status (it retries and gives up on its own); a rejection goes to onError and the next status is still written. */
  constructor(
    private readonly write: (status: S) => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Queues status as the next to write (replacing one not yet begun); resolves once it is written or replaced by a newer one that is. */
  set(status: S): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = this.waiting?.done ?? [];
      done.push(resolve);
      this.waiting = { status, done };
      this.writing ??= this.drain();
    });
  }

  /** Resolves once everything handed over so far is written. */
  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.waiting) {
      const next = this.waiting;
      this.waiting = undefined;
      try {
        await this.write(next.status);
      } catch (e) {
        this.onError(e);
      } finally {
        for (const d of next.done) d();
      }
    }
    this.writing = undefined;
  }
}
