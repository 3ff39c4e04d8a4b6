/**
 * When a CronJob should have run (upstream's cronjob utils.go): the most recent unmet schedule
 * time since the last run (or the CronJob's creation, or now - startingDeadlineSeconds), how many
 * were missed — estimated, not listed, as upstream does, so a controller down for a year does not
 * enumerate half a million minutes — and when to look again.
 */
import type { CronJob } from "kubernetes-types/batch/v1.js";
import type { Schedule } from "./schedule.js";

export type MissedSchedules = "none" | "few" | "many";

/** Added to every requeue so the sync lands just after the schedule time (nextScheduleDelta). */
export const NEXT_SCHEDULE_DELTA_MS = 100;

export class InvalidScheduleError extends Error {}

export interface MostRecent {
  /** The last schedule time, or the CronJob's creation (or the starting deadline), in ms. */
  earliest: number;
  /** The latest schedule time at or before now that has not run, if any. */
  mostRecent: number | undefined;
  missed: MissedSchedules;
}

/**
 * Upstream's mostRecentScheduleTime. Throws InvalidScheduleError for a schedule that parses but
 * never (or almost never) fires, such as the 31st of February.
 */
export function mostRecentScheduleTime(cj: CronJob, now: number, schedule: Schedule, includeStartingDeadline: boolean): MostRecent {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? "");
  if (Number.isNaN(earliest)) earliest = now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && sds !== undefined && sds !== null) {
    // The controller schedules nothing older than the deadline.
    const deadline = now - sds * 1000;
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = schedule.next(earliest);
  const t2 = t1 === undefined ? undefined : schedule.next(t1);
  if (t1 !== undefined && now < t1) return { earliest, mostRecent: undefined, missed: "none" };
  if (t2 !== undefined && now < t2) return { earliest, mostRecent: t1, missed: "few" };
  const between = t1 === undefined || t2 === undefined ? 0 : Math.round((t2 - t1) / 1000);
  if (between < 1) throw new InvalidScheduleError("time difference between two schedules is less than 1 second");
  // A rough count: how many intervals like the first fit between the first run and now.
  const elapsed = Math.trunc((now - t1!) / 1000);
  const missedCount = Math.trunc(elapsed / between) + 1;
  // Start one interval before the estimate and let the schedule find the real latest time, which
  // is exact for @every and uneven schedules (30 6-16/4 * * 1-5) alike.
  const potentialEarliest = t1! + (missedCount - 2) * between * 1000;
  let mostRecent: number | undefined;
  for (let t = schedule.next(potentialEarliest); t !== undefined && t <= now; t = schedule.next(t)) mostRecent = t;
  // More than 100 misses is "lots": a clock skew or a long outage, reported once per sync.
  const missed: MissedSchedules = missedCount > 100 ? "many" : "few";
  return { earliest, mostRecent, missed };
}

/** How long until the next schedule time after the most recent one (plus the delta), from now. */
export function nextScheduleTimeDuration(cj: CronJob, now: number, schedule: Schedule): number {
  let base: number;
  try {
    const r = mostRecentScheduleTime(cj, now, schedule, false);
    if (r.mostRecent !== undefined) base = r.mostRecent;
    // Missed schedules since earliest: aim from now.
    else base = r.missed === "none" ? r.earliest : now;
  } catch {
    // Still requeue at some point: the next slot from now.
    base = now;
  }
  const next = schedule.next(base);
  return (next ?? now) + NEXT_SCHEDULE_DELTA_MS - now;
}

/**
 * The schedule time a Job should be created for now (honouring startingDeadlineSeconds), with
 * how many were missed; undefined when nothing is due.
 */
export function nextScheduleTime(cj: CronJob, now: number, schedule: Schedule): { time: number | undefined; missed: MissedSchedules } {
  const r = mostRecentScheduleTime(cj, now, schedule, true);
  if (r.mostRecent === undefined || r.mostRecent > now) return { time: undefined, missed: r.missed };
  return { time: r.mostRecent, missed: r.missed };
}

/** RFC 3339 of `ms` in `zone` (Go's time.Format(time.RFC3339): "Z" for a zero offset). */
export function rfc3339InZone(ms: number, zone: string): string {
  const t = Math.floor(ms / 1000) * 1000;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "longOffset" })
      .formatToParts(new Date(t))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const offset = (parts.timeZoneName ?? "GMT").replace(/^GMT/, "");
  const zoneText = offset === "" || offset === "+00:00" || offset === "-00:00" ? "Z" : offset;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${zoneText}`;
}

/** Go's time.RFC1123Z of `ms` in UTC ("Mon, 02 Jan 2006 15:04:05 +0000"), as MissSchedule prints it. */
export function rfc1123z(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString().replace("GMT", "+0000");
}
