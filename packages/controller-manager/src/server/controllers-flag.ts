/**
 * `--controllers` as upstream reads it: `*` turns on every controller that is on by default,
 * `foo` turns on foo, `-foo` turns it off, so `*,-cronjob-controller` runs all but the CronJob
 * controller. Old names (`deployment`, `cronjob`) are accepted as upstream accepts them.
 */
import { FlagError } from "@kubemu/common";
import type { ControllerDescriptor } from "../controller/context.js";

export function enabledControllers(flag: readonly string[], all: readonly ControllerDescriptor[]): ControllerDescriptor[] {
  const byName = new Map<string, ControllerDescriptor>();
  for (const c of all) for (const n of [c.name, ...c.aliases]) byName.set(n, c);
  const on = new Set<ControllerDescriptor>();
  const off = new Set<ControllerDescriptor>();
  let star = false;
  for (const raw of flag.map((s) => s.trim()).filter((s) => s !== "")) {
    if (raw === "*") {
      star = true;
      continue;
    }
    const negated = raw.startsWith("-");
    const name = negated ? raw.slice(1) : raw;
    const c = byName.get(name);
    if (!c) throw new FlagError(`"${name}" is not in the list of known controllers`);
    (negated ? off : on).add(c);
  }
  return all.filter((c) => !off.has(c) && (on.has(c) || (star && !c.disabledByDefault)));
}
