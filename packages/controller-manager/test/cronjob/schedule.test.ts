import { describe, expect, it } from "vitest";
import { ScheduleError, goDuration, parseSchedule } from "../../src/controllers/cronjob/schedule.js";
import { mostRecentScheduleTime, nextScheduleTimeDuration, rfc1123z, rfc3339InZone } from "../../src/controllers/cronjob/times.js";
import { newCronJob } from "./harness.js";

const at = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const runs = (spec: string, from: string, n: number) => {
  const s = parseSchedule(spec);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) out.push(iso((t = s.next(t)!))!);
  return out;
};

describe("cron schedules (robfig/cron ParseStandard)", () => {
  it("computes the next activations of five-field schedules, in UTC by default", () => {
    expect(runs("*/1 * * * *", "2026-03-01T10:00:30Z", 2)).toEqual(["2026-03-01T10:01:00.000Z", "2026-03-01T10:02:00.000Z"]);
    expect(runs("*/15 9-10 * * *", "2026-03-01T10:40:00Z", 2)).toEqual(["2026-03-01T10:45:00.000Z", "2026-03-02T09:00:00.000Z"]);
    // 2026-03-01 is a Sunday; 1-5 is Monday to Friday.
    expect(runs("0 9 * * 1-5", "2026-02-27T10:00:00Z", 2)).toEqual(["2026-03-02T09:00:00.000Z", "2026-03-03T09:00:00.000Z"]);
    expect(runs("0 0 1 jan,Jul *", "2026-03-01T00:00:00Z", 2)).toEqual(["2026-07-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
    expect(runs("30 2 * * SUN", "2026-03-01T03:00:00Z", 1)).toEqual(["2026-03-08T02:30:00.000Z"]);
    // "N/step" runs from N to the maximum.
    expect(runs("50/5 * * * *", "2026-03-01T10:00:00Z", 3)).toEqual(["2026-03-01T10:50:00.000Z", "2026-03-01T10:55:00.000Z", "2026-03-01T11:50:00.000Z"]);
  });

  it("strictly after the given time, ignoring milliseconds", () => {
    expect(runs("* * * * *", "2026-03-01T10:00:00Z", 1)).toEqual(["2026-03-01T10:01:00.000Z"]);
    expect(runs("* * * * *", "2026-03-01T10:00:59.999Z", 1)).toEqual(["2026-03-01T10:01:00.000Z"]);
  });

  it("day of month and day of week: either matches when both are restricted, ? is *", () => {
    // The 13th, and every Friday (2026-03-06 and -13 are Fridays).
    expect(runs("0 0 13 * 5", "2026-03-01T00:00:00Z", 3)).toEqual(["2026-03-06T00:00:00.000Z", "2026-03-13T00:00:00.000Z", "2026-03-20T00:00:00.000Z"]);
    expect(runs("0 0 13 * ?", "2026-03-01T00:00:00Z", 2)).toEqual(["2026-03-13T00:00:00.000Z", "2026-04-13T00:00:00.000Z"]);
    // A stepped star is not a star: */10 days OR Mondays.
    expect(runs("0 0 */10 * 1", "2026-03-01T00:00:00Z", 3)).toEqual(["2026-03-02T00:00:00.000Z", "2026-03-09T00:00:00.000Z", "2026-03-11T00:00:00.000Z"]);
  });

  it("descriptors and @every", () => {
    expect(runs("@hourly", "2026-03-01T10:20:00Z", 1)).toEqual(["2026-03-01T11:00:00.000Z"]);
    expect(runs("@daily", "2026-03-01T10:20:00Z", 1)).toEqual(["2026-03-02T00:00:00.000Z"]);
    expect(runs("@midnight", "2026-03-01T10:20:00Z", 1)).toEqual(["2026-03-02T00:00:00.000Z"]);
    expect(runs("@weekly", "2026-03-01T10:20:00Z", 1)).toEqual(["2026-03-08T00:00:00.000Z"]);
    expect(runs("@monthly", "2026-03-01T10:20:00Z", 1)).toEqual(["2026-04-01T00:00:00.000Z"]);
    expect(runs("@yearly", "2026-03-01T10:20:00Z", 1)).toEqual(["2027-01-01T00:00:00.000Z"]);
    expect(runs("@every 1m30s", "2026-03-01T10:20:00.700Z", 2)).toEqual(["2026-03-01T10:21:30.000Z", "2026-03-01T10:23:00.000Z"]);
    expect(goDuration("1h30m")).toBe(5_400_000);
    expect(goDuration("90")).toBeUndefined();
  });

  it("time zones: TZ= and CRON_TZ= prefixes", () => {
    expect(runs("TZ=Asia/Seoul 0 9 * * *", "2026-03-01T01:00:00Z", 1)).toEqual(["2026-03-02T00:00:00.000Z"]);
    expect(runs("CRON_TZ=America/New_York 0 9 * * *", "2026-03-01T00:00:00Z", 1)).toEqual(["2026-03-01T14:00:00.000Z"]);
    // New York moves to daylight time on 2026-03-08: 9:00 is then 13:00 UTC.
    expect(runs("TZ=America/New_York 0 9 * * *", "2026-03-08T00:00:00Z", 1)).toEqual(["2026-03-08T13:00:00.000Z"]);
  });

  it("rejects what robfig rejects, with its messages", () => {
    const err = (s: string) => {
      try {
        parseSchedule(s);
      } catch (e) {
        expect(e).toBeInstanceOf(ScheduleError);
        return (e as Error).message;
      }
      return "parsed";
    };
    expect(err("* * * *")).toBe("expected exactly 5 fields, found 4: [* * * *]");
    expect(err("0 0 0 * * *")).toBe("expected exactly 5 fields, found 6: [0 0 0 * * *]");
    expect(err("61 * * * *")).toBe("end of range (61) above maximum (59): 61");
    expect(err("0 0 0 * *")).toBe("beginning of range (0) below minimum (1): 0");
    expect(err("0 0 * * 7")).toBe("end of range (7) above maximum (6): 7");
    expect(err("5-1 * * * *")).toBe("beginning of range (5) beyond end of range (1): 5-1");
    expect(err("*/0 * * * *")).toBe("step of range should be a positive number: */0");
    expect(err("0 0 L * *")).toBe('failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax');
    expect(err("TZ=Mars/Olympus 0 * * * *")).toBe("provided bad location Mars/Olympus: unknown time zone Mars/Olympus");
    expect(err("@fortnightly")).toBe("unrecognized descriptor: @fortnightly");
  });
});

describe("missed schedule times", () => {
  const s = parseSchedule("* * * * *");

  it("none before the first time, one just after it, an estimate when many", () => {
    const cj = newCronJob("c", at("2026-03-01T10:00:30Z"));
    expect(mostRecentScheduleTime(cj, at("2026-03-01T10:00:59Z"), s, false)).toMatchObject({ mostRecent: undefined, missed: "none" });
    expect(mostRecentScheduleTime(cj, at("2026-03-01T10:01:10Z"), s, false)).toMatchObject({ mostRecent: at("2026-03-01T10:01:00Z"), missed: "few" });
    const few = mostRecentScheduleTime(cj, at("2026-03-01T10:50:10Z"), s, false);
    expect(few).toMatchObject({ mostRecent: at("2026-03-01T10:50:00Z"), missed: "few" });
    const many = mostRecentScheduleTime(cj, at("2026-03-01T14:00:10Z"), s, false);
    expect(many).toMatchObject({ mostRecent: at("2026-03-01T14:00:00Z"), missed: "many" });
  });

  it("startingDeadlineSeconds moves the earliest time up to now minus the deadline", () => {
    const cj = newCronJob("c", at("2026-03-01T10:00:30Z"), { startingDeadlineSeconds: 20 });
    // 10:05:00 was 30 s ago, beyond the 20 s deadline: nothing is due.
    expect(mostRecentScheduleTime(cj, at("2026-03-01T10:05:30Z"), s, true)).toMatchObject({ mostRecent: undefined, missed: "none" });
    expect(mostRecentScheduleTime(cj, at("2026-03-01T10:05:15Z"), s, true)).toMatchObject({ mostRecent: at("2026-03-01T10:05:00Z") });
  });

  it("the 31st of February never comes: an invalid schedule", () => {
    const cj = newCronJob("c", at("2026-03-01T10:00:30Z"));
    expect(() => mostRecentScheduleTime(cj, at("2026-03-01T10:01:00Z"), parseSchedule("0 0 31 2 *"), false)).toThrow("time difference between two schedules is less than 1 second");
  });

  it("requeues 100 ms after the next schedule time", () => {
    const cj = newCronJob("c", at("2026-03-01T10:00:30Z"));
    expect(nextScheduleTimeDuration(cj, at("2026-03-01T10:00:40Z"), s)).toBe(20_100);
    const ran = { ...cj, status: { lastScheduleTime: "2026-03-01T10:01:00Z" } };
    expect(nextScheduleTimeDuration(ran, at("2026-03-01T10:01:00.100Z"), s)).toBe(60_000);
  });

  it("formats times like Go", () => {
    expect(rfc3339InZone(at("2026-03-01T10:00:00Z"), "Etc/UTC")).toBe("2026-03-01T10:00:00Z");
    expect(rfc3339InZone(at("2026-03-01T10:00:00Z"), "Asia/Seoul")).toBe("2026-03-01T19:00:00+09:00");
    expect(rfc3339InZone(at("2026-03-01T10:00:00Z"), "America/St_Johns")).toBe("2026-03-01T06:30:00-03:30");
    expect(rfc1123z(at("2026-03-01T10:00:00Z"))).toBe("Sun, 01 Mar 2026 10:00:00 +0000");
  });
});
