/**
 * Process liveness from /proc (Linux). Every pid or lock check of the launcher and kubemu-etcd
 * goes through `isProcessAlive`: signal 0 alone counts a zombie (exited, not yet reaped by its
 * parent) as alive, and a pid alone cannot tell a recycled pid from the process that held it.
 */
import { readFileSync } from "node:fs";

/** What /proc/<pid>/stat says about a process. */
export interface ProcStat {
  /** One-letter state: R, S, D, T, t, Z (zombie), X (dead)... */
  state: string;
  /** Field 22: start time in clock ticks after boot. With the pid, it identifies one process for good. */
  startTime: number;
}

/** Reads /proc/<pid>/stat; undefined when there is no such process (or it cannot be read). */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may itself contain spaces or ')', so split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = rest[0];
  const startTime = Number(rest[19]); // field 22; rest[0] is field 3
  if (state === undefined || state === "" || !Number.isFinite(startTime)) return undefined;
  return { state, startTime };
}

/** A zombie (Z) or dead (X) process has exited: it runs nothing and holds nothing but its pid. */
export function hasExited(stat: ProcStat): boolean {
  return stat.state === "Z" || stat.state === "X";
}

/**
 * True if `pid` is a running process: it exists and is not a zombie. With `startTime` (from
 * `readProcStat` when the process was started) it must also still be that same process, so a
 * recycled pid never counts.
 *
 * Without a startTime and when /proc has no entry for the pid (/proc not mounted, or hidden by
 * hidepid for another user's process), signal 0 decides: EPERM still means the process exists.
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  const stat = readProcStat(pid);
  if (stat !== undefined) return !hasExited(stat) && (startTime === undefined || stat.startTime === startTime);
  if (startTime !== undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
