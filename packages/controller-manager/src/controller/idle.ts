/** For a controller that cannot start (upstream's "Controller is disabled because…"): hold until the term ends. */
export function idleUntilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
