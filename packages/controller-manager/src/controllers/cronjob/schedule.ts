/**
 * CronJob schedules as kube-controller-manager reads them (robfig/cron v3's ParseStandard, which
 * upstream uses): five fields — minute, hour, day of month, month, day of week — with `*`, `?`,
 * ranges, steps, lists and JAN-DEC / SUN-SAT names; the descriptors @yearly (@annually),
 * @monthly, @weekly, @daily (@midnight), @hourly and `@every <duration>`; and an optional
 * `TZ=<zone>` or `CRON_TZ=<zone>` prefix. Fields are parsed and checked here with robfig's rules
 * and messages, then handed to croner — as explicit value lists, so only its time arithmetic
 * (time zones, DST) is used. Without a zone the schedule runs in UTC, the zone
 * kube-controller-manager's container has.
 */
import { Cron } from "croner";

export interface Schedule {
  /** The first activation strictly after `ms` (whole seconds), undefined when there is none. */
  next(ms: number): number | undefined;
}

/** Thrown for a schedule robfig would not parse; the message is robfig's. */
export class ScheduleError extends Error {}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: readonly Bounds[] = [{ min: 0, max: 59 }, { min: 0, max: 23 }, { min: 1, max: 31 }, { min: 1, max: 12, names: MONTHS }, { min: 0, max: 6, names: DAYS }];

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** robfig gives up looking for a next activation five years ahead (it returns the zero time). */
const YEAR_LIMIT_MS = 5 * 366 * 86_400_000;

/** Whether `zone` is a time zone Go's time.LoadLocation would load ("" and "UTC" are UTC). */
export function validTimeZone(zone: string): boolean {
  if (zone === "" || zone === "UTC" || zone === "Local") return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The zone croner computes in: UTC for Go's "", "UTC" and "Local" (the controller-manager's own). */
export function croneZone(zone: string | undefined): string {
  return !zone || zone === "UTC" || zone === "Local" ? "Etc/UTC" : zone;
}

/** Parses a schedule like cron.ParseStandard; throws ScheduleError. */
export function parseSchedule(spec: string): Schedule {
  let rest = spec.trim();
  let zone: string | undefined;
  if (rest.startsWith("TZ=") || rest.startsWith("CRON_TZ=")) {
    const eq = rest.indexOf("=");
    const sp = rest.search(/\s/);
    const name = sp === -1 ? rest.slice(eq + 1) : rest.slice(eq + 1, sp);
    if (!validTimeZone(name)) throw new ScheduleError(`provided bad location ${name}: unknown time zone ${name}`);
    zone = name;
    rest = sp === -1 ? "" : rest.slice(sp).trim();
  }
  if (rest.startsWith("@")) return descriptor(rest, zone);
  const fields = rest.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5) throw new ScheduleError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
  const pattern = fields.map((f, i) => fieldPattern(f, FIELDS[i]!)).join(" ");
  return cronSchedule(pattern, zone);
}

function descriptor(text: string, zone: string | undefined): Schedule {
  const d = DESCRIPTORS[text];
  if (d) return cronSchedule(d, zone);
  if (text.startsWith("@every ")) {
    const dur = text.slice("@every ".length).trim();
    const ms = goDuration(dur);
    if (ms === undefined) throw new ScheduleError(`failed to parse duration ${text}: time: invalid duration "${dur}"`);
    return everySchedule(ms);
  }
  throw new ScheduleError(`unrecognized descriptor: ${text}`);
}

/**
 * robfig's ConstantDelaySchedule: the delay rounded down to whole seconds (at least one), added
 * to the given time truncated to its second.
 */
function everySchedule(ms: number): Schedule {
  const delay = Math.max(1000, ms - (ms % 1000));
  return { next: (t) => Math.floor(t / 1000) * 1000 + delay };
}

function cronSchedule(pattern: string, zone: string | undefined): Schedule {
  const cron = new Cron(pattern, { timezone: croneZone(zone), legacyMode: true });
  return {
    next(ms) {
      const d = cron.nextRun(new Date(ms));
      if (!d) return undefined;
      const t = d.getTime();
      return t - ms > YEAR_LIMIT_MS ? undefined : t;
    },
  };
}

/**
 * One field as croner should read it: `*` when robfig marks the field as starred (a bare `*` or
 * `?`, possibly with step 1 — which decides how day-of-month and day-of-week combine), else the
 * explicit list of matching values.
 */
function fieldPattern(field: string, b: Bounds): string {
  const values = new Set<number>();
  let star = false;
  for (const expr of field.split(",")) {
    const r = parseRange(expr, b);
    star ||= r.star;
    for (let v = r.start; v <= r.end; v += r.step) values.add(v);
  }
  if (star) return "*";
  return [...values].sort((x, y) => x - y).join(",");
}

function parseRange(expr: string, b: Bounds): { start: number; end: number; step: number; star: boolean } {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = rangeAndStep[0]!.split("-");
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0]!, b.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1]!, b.names);
    else throw new ScheduleError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]!);
    // "N/step" means "N-max/step".
    if (single) end = b.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) throw new ScheduleError(`too many slashes: ${expr}`);
  if (start < b.min) throw new ScheduleError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new ScheduleError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new ScheduleError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new ScheduleError(`step of range should be a positive number: ${expr}`);
  return { start, end, step, star };
}

function parseIntOrName(expr: string, names: Record<string, number> | undefined): number {
  const named = names?.[expr.toLowerCase()];
  return named !== undefined ? named : mustParseInt(expr);
}

function mustParseInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) throw new ScheduleError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (n < 0) throw new ScheduleError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds; undefined when it would fail. */
export function goDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let pos = 0;
  let total = 0;
  const body = text.replace(/^[+]/, "");
  if (body === "") return undefined;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) return undefined;
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return total;
}
