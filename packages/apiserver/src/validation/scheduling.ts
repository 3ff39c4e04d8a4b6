/** scheduling.k8s.io/v1 PriorityClass: the system classes, defaults and validation, as upstream's. */
import type { KubeObject } from "../storage/index.js";
import type { FieldError } from "../registry/types.js";
import { forbidden, invalid, notSupported, required } from "./fields.js";

/** The largest value a class not created by the system may have (upstream HighestUserDefinablePriority). */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
/** Where the system classes start (upstream SystemCriticalPriority = 2 × HighestUserDefinablePriority). */
export const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/** Names with this prefix are the system's. */
export const SYSTEM_PRIORITY_CLASS_PREFIX = "system-";

/** The classes kube-apiserver creates at start (its scheduling/bootstrap-system-priority-classes hook). */
export const SYSTEM_PRIORITY_CLASSES: readonly { name: string; value: number; description: string }[] = [
  { name: "system-node-critical", value: SYSTEM_CRITICAL_PRIORITY + 1000, description: "Used for system critical pods that must not be moved from their current node." },
  { name: "system-cluster-critical", value: SYSTEM_CRITICAL_PRIORITY, description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary." },
];

const PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"];

/** SetDefaults_PriorityClass (preemptionPolicy), and Go's encoding: value always present, false/"" omitted. */
export function defaultPriorityClass(pc: KubeObject): void {
  if (pc.preemptionPolicy === undefined || pc.preemptionPolicy === null) pc.preemptionPolicy = "PreemptLowerPriority";
  if (pc.value === undefined || pc.value === null) pc.value = 0;
  if (pc.globalDefault === false || pc.globalDefault === null) delete pc.globalDefault;
  if (pc.description === "" || pc.description === null) delete pc.description;
}

/** Why name/value/globalDefault are not one of the system classes (upstream IsKnownSystemPriorityClass), or undefined when they are. */
function notSystemClass(name: string, value: unknown, globalDefault: boolean): string | undefined {
  const spc = SYSTEM_PRIORITY_CLASSES.find((c) => c.name === name);
  if (!spc) return `${name} is not a known system priority class`;
  if (value !== spc.value) return `value of ${spc.name} PriorityClass must be ${spc.value}`;
  if (globalDefault) return `globalDefault of ${spc.name} PriorityClass must be false`;
  return undefined;
}

/** ValidatePriorityClass, plus ValidatePriorityClassUpdate when old is set (value and preemptionPolicy are immutable). */
export function validatePriorityClass(pc: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = pc.metadata.name ?? "";
  if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const why = notSystemClass(name, pc.value, pc.globalDefault === true);
    if (why) errs.push(forbidden("metadata.name", `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${why}`));
  } else if (typeof pc.value === "number" && pc.value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(forbidden("value", `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  const policy = pc.preemptionPolicy;
  if (policy === "") errs.push(required("preemptionPolicy"));
  else if (policy !== undefined && !PREEMPTION_POLICIES.includes(policy as string)) errs.push(notSupported("preemptionPolicy", policy, PREEMPTION_POLICIES));
  if (old) {
    if (pc.value !== old.value) errs.push(forbidden("value", "may not be changed in an update."));
    if (pc.preemptionPolicy !== old.preemptionPolicy) errs.push(invalid("preemptionPolicy", pc.preemptionPolicy, "field is immutable"));
  }
  return errs;
}
