import { isProcessAlive, readProcStat, type Clock, type ProcStat } from "@kubemu/common";

export { readProcStat, type ProcStat };

/** A process we started: its pid and the start time recorded when we started it. */
export interface ProcessIdentity {
  pid: number | null;
  startTime: number | null;
}

/**
 * True only if the recorded pid is alive AND is still the process we started (same start time),
 * so a recycled pid is never mistaken for ours. Zombies count as gone.
 */
export function isOurProcessAlive(id: ProcessIdentity): boolean {
  if (id.pid === null || id.startTime === null) return false;
  return isProcessAlive(id.pid, id.startTime);
}

/**
 * Sends a signal to the recorded pid only if it is still our process. Returns false if it was
 * already gone. (The check and the kill are two steps; the window is microseconds and the pid
 * would have to be reused inside it.)
 */
export function signalOurProcess(id: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!isOurProcessAlive(id) || id.pid === null) return false;
  try {
    process.kill(id.pid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
}

/** Polls until the process is gone or timeoutMs passes; true if it is gone. */
export async function waitForExit(id: ProcessIdentity, timeoutMs: number, clock: Clock, pollMs = 25): Promise<boolean> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    if (!isOurProcessAlive(id)) return true;
    if (clock.now() >= deadline) return false;
    await clock.sleep(pollMs);
  }
}

/** How a stop ended. */
export type StopOutcome = "not-running" | "terminated" | "killed";

/** Thrown when a process survives SIGKILL for the whole wait (e.g. stuck in uninterruptible sleep). */
export class ProcessStuckError extends Error {
  override readonly name = "ProcessStuckError";
  constructor(readonly pid: number) {
    super(`pid ${pid} is still alive after SIGKILL`);
  }
}

/** Time allowed for a SIGKILLed process to disappear before giving up. */
export const killWaitMs = 5_000;

/**
 * Stops our process: SIGTERM, wait up to graceMs, then SIGKILL and wait for it to vanish.
 * Never signals a pid that is no longer ours.
 */
export async function stopOurProcess(id: ProcessIdentity, graceMs: number, clock: Clock): Promise<StopOutcome> {
  if (!signalOurProcess(id, "SIGTERM")) return "not-running";
  if (await waitForExit(id, graceMs, clock)) return "terminated";
  return (await killOurProcess(id, clock)) ? "killed" : "terminated";
}

/** SIGKILLs our process and waits for it to vanish. Returns false if it was already gone. */
export async function killOurProcess(id: ProcessIdentity, clock: Clock): Promise<boolean> {
  if (!signalOurProcess(id, "SIGKILL")) return false;
  if (!(await waitForExit(id, killWaitMs, clock))) throw new ProcessStuckError(id.pid ?? -1);
  return true;
}
