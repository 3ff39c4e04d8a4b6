/**
 * spec.podFailurePolicy (upstream's pod_failure_policy.go): the first rule matching a failed
 * pod decides — by a container's non-zero exit code or by a pod condition — whether the
 * failure fails the whole Job (FailJob), its index (FailIndex), is not counted (Ignore) or is
 * counted against backoffLimit as usual (Count).
 */
import type { PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern } from "kubernetes-types/batch/v1.js";
import type { ContainerStatus, Pod, PodCondition } from "kubernetes-types/core/v1.js";

export type PodFailurePolicyAction = "FailJob" | "FailIndex" | "Ignore" | "Count";

export interface PodFailurePolicyMatch {
  /** Set when a FailJob rule matched: the Job's failure message. */
  failJobMessage?: string;
  /** False when an Ignore rule matched. */
  countFailed: boolean;
  action?: PodFailurePolicyAction;
}

const NO_MATCH: PodFailurePolicyMatch = { countFailed: true };

export function matchPodFailurePolicy(policy: PodFailurePolicy | undefined, pod: Pod): PodFailurePolicyMatch {
  if (!policy) return NO_MATCH;
  const ns = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "";
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    const action = rule.action as PodFailurePolicyAction;
    if (rule.onExitCodes) {
      const container = matchOnExitCodes(pod, rule.onExitCodes);
      if (!container) continue;
      const m = decide(action, () => `Container ${container.name} for pod ${ns}/${name} failed with exit code ${container.state!.terminated!.exitCode} matching ${action} rule at index ${index}`);
      if (m) return m;
    } else if (rule.onPodConditions) {
      const cond = matchOnPodConditions(pod, rule.onPodConditions);
      if (!cond) continue;
      const m = decide(action, () => `Pod ${ns}/${name} has condition ${cond.type} matching ${action} rule at index ${index}`);
      if (m) return m;
    }
  }
  return NO_MATCH;
}

function decide(action: PodFailurePolicyAction, failJobMessage: () => string): PodFailurePolicyMatch | undefined {
  switch (action) {
    case "Ignore":
      return { countFailed: false, action };
    case "Count":
      return { countFailed: true, action };
    case "FailJob":
      return { failJobMessage: failJobMessage(), countFailed: true, action };
    case "FailIndex":
      return { countFailed: true, action };
    default:
      // An action this version does not know: the rule is skipped, as upstream's switch does.
      return undefined;
  }
}

function matchOnExitCodes(pod: Pod, req: PodFailurePolicyOnExitCodesRequirement): ContainerStatus | undefined {
  return matchingContainer(pod.status?.containerStatuses, req) ?? matchingContainer(pod.status?.initContainerStatuses, req);
}

function matchingContainer(statuses: ContainerStatus[] | undefined, req: PodFailurePolicyOnExitCodesRequirement): ContainerStatus | undefined {
  for (const s of statuses ?? []) {
    const code = s.state?.terminated?.exitCode;
    // Still running or terminating: no exit code to match yet; exit 0 never matches.
    if (code === undefined || code === 0) continue;
    if (req.containerName && req.containerName !== s.name) continue;
    if (exitCodeMatches(code, req)) return s;
  }
  return undefined;
}

function exitCodeMatches(code: number, req: PodFailurePolicyOnExitCodesRequirement): boolean {
  if (req.operator === "In") return req.values.includes(code);
  if (req.operator === "NotIn") return !req.values.includes(code);
  return false;
}

function matchOnPodConditions(pod: Pod, patterns: PodFailurePolicyOnPodConditionsPattern[]): PodCondition | undefined {
  for (const c of pod.status?.conditions ?? []) {
    if (patterns.some((p) => p.type === c.type && p.status === c.status)) return c;
  }
  return undefined;
}
