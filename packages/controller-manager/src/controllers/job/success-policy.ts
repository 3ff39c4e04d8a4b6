/**
 * spec.successPolicy for Indexed Jobs (upstream's success_policy.go): the Job has succeeded once
 * any rule is met — every index of its succeededIndexes (or succeededCount of them) succeeded,
 * or, without succeededIndexes, succeededCount indexes in all.
 */
import type { SuccessPolicy } from "kubernetes-types/batch/v1.js";
import { OrderedIntervals } from "./indexed.js";

/** The SuccessCriteriaMet message when a rule matched ("Matched rules at index 0"). */
export function matchSuccessPolicy(policy: SuccessPolicy | undefined, completions: number, succeeded: OrderedIntervals): string | undefined {
  if (!policy || succeeded.length === 0) return undefined;
  for (const [index, rule] of policy.rules.entries()) {
    if (rule.succeededIndexes !== undefined && rule.succeededIndexes !== null) {
      const required = OrderedIntervals.parse(rule.succeededIndexes, completions);
      // A rule whose indexes do not parse (or lie beyond completions) cannot match.
      if (required.length === 0) continue;
      if (matchSucceededIndexesRule(required, succeeded, rule.succeededCount)) return `Matched rules at index ${index}`;
    } else if (rule.succeededCount !== undefined && rule.succeededCount !== null && succeeded.total() >= rule.succeededCount) {
      return `Matched rules at index ${index}`;
    }
  }
  return undefined;
}

function matchSucceededIndexesRule(rule: OrderedIntervals, succeeded: OrderedIntervals, succeededCount: number | undefined): boolean {
  let contains = 0;
  let r = 0;
  let s = 0;
  const ri = rule.intervals;
  const si = succeeded.intervals;
  while (r < ri.length && s < si.length) {
    const overlap = Math.min(ri[r]!.last, si[s]!.last) - Math.max(ri[r]!.first, si[s]!.first) + 1;
    if (overlap > 0) contains += overlap;
    if (si[s]!.last < ri[r]!.last) s++;
    else if (si[s]!.last > ri[r]!.last) r++;
    else {
      s++;
      r++;
    }
  }
  return contains === rule.total() || (succeededCount !== undefined && succeededCount !== null && contains >= succeededCount);
}
