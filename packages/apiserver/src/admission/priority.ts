/**
 * The Priority admission plugin, as upstream's (plugin/pkg/admission/priority): on pod create it
 * resolves `spec.priorityClassName` to `spec.priority` and `spec.preemptionPolicy` (no name: the
 * globalDefault class's, else priority 0 and PreemptLowerPriority), refusing an unknown class
 * and a pod that sets a priority or preemption policy its class disagrees with; on pod update it
 * keeps what create set when the new object leaves it out. On PriorityClass create and update it
 * allows only one globalDefault class, and the system classes cannot be deleted.
 */
import { newStatus, StatusError } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import type { Admission } from "../registry/types.js";
import { SYSTEM_PRIORITY_CLASSES } from "../validation/scheduling.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Where PriorityClasses are served. */
export const PRIORITY_CLASSES = { group: "scheduling.k8s.io", version: "v1", plural: "priorityclasses" } as const;

/** A pod's priority when no class names one and no globalDefault class exists (upstream DefaultPriorityWhenNoDefaultClassExists). */
export const DEFAULT_PRIORITY = 0;

/** admission.NewForbidden: `<resource> "<name>" is forbidden: <why>` ("<resource> is forbidden" for a generated name). */
export function admissionForbidden(resource: { group?: string; plural: string }, name: string, why: string): StatusError {
  const qualified = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  const message = name ? `${qualified} ${JSON.stringify(name)} is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  return new StatusError(newStatus("Forbidden", message, { name, ...(resource.group ? { group: resource.group } : {}), kind: resource.plural }));
}

const listClasses = (a: Admission, consistent = false) => a.list(PRIORITY_CLASSES.group, PRIORITY_CLASSES.version, PRIORITY_CLASSES.plural, consistent);

/** The globalDefault class; with several (possible only through races), the one of lowest value, as upstream. */
function globalDefault(classes: KubeObject[]): KubeObject | undefined {
  let best: KubeObject | undefined;
  for (const pc of classes) {
    if (pc.globalDefault !== true) continue;
    if (!best || Number(pc.value) < Number(best.value)) best = pc;
  }
  return best;
}

/** Pod create and update. */
export async function admitPodPriority(a: Admission): Promise<void> {
  const pod = a.object;
  if (!pod) return;
  const spec = (isObj(pod.spec) ? pod.spec : (pod.spec = {})) as Obj;
  if (a.operation === "UPDATE") {
    const old = isObj(a.old?.spec) ? (a.old.spec as Obj) : {};
    // Validation refuses any other change to these fields; this only keeps what create set.
    if (spec.priority === undefined && old.priority !== undefined) spec.priority = old.priority;
    if (spec.preemptionPolicy === undefined && old.preemptionPolicy !== undefined) spec.preemptionPolicy = old.preemptionPolicy;
    return;
  }
  if (a.operation !== "CREATE") return;
  let priority: number;
  let policy: unknown;
  const className = typeof spec.priorityClassName === "string" ? spec.priorityClassName : "";
  if (className === "") {
    const dpc = globalDefault(await listClasses(a));
    if (dpc) {
      spec.priorityClassName = dpc.metadata.name;
      priority = Number(dpc.value ?? 0);
      policy = dpc.preemptionPolicy;
    } else {
      priority = DEFAULT_PRIORITY;
      policy = "PreemptLowerPriority";
    }
  } else {
    // The lister first (the watch cache); a miss is read again consistently, so a class created
    // a moment ago through another API server is not refused.
    const pc =
      (await listClasses(a)).find((c) => c.metadata.name === className) ?? (await a.get(PRIORITY_CLASSES.group, PRIORITY_CLASSES.version, PRIORITY_CLASSES.plural, className));
    if (!pc) throw admissionForbidden({ plural: "pods" }, a.name, `no PriorityClass with name ${className} was found`);
    priority = Number(pc.value ?? 0);
    policy = pc.preemptionPolicy;
  }
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority)
    throw admissionForbidden(
      { plural: "pods" },
      a.name,
      `the integer value of priority (${String(spec.priority)}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
    );
  spec.priority = priority;
  if (typeof policy === "string") {
    if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== null && spec.preemptionPolicy !== policy)
      throw admissionForbidden(
        { plural: "pods" },
        a.name,
        `the string value of PreemptionPolicy (${String(spec.preemptionPolicy)}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
      );
    spec.preemptionPolicy = policy;
  }
}

/** PriorityClass create and update: at most one globalDefault; delete: never a system class (upstream's REST storage). */
export async function admitPriorityClass(a: Admission): Promise<void> {
  if (a.operation === "DELETE") {
    if (SYSTEM_PRIORITY_CLASSES.some((c) => c.name === a.name))
      throw admissionForbidden({ group: PRIORITY_CLASSES.group, plural: PRIORITY_CLASSES.plural }, a.name, "this is a system priority class and cannot be deleted");
    return;
  }
  const pc = a.object;
  if ((a.operation !== "CREATE" && a.operation !== "UPDATE") || !pc || pc.globalDefault !== true) return;
  // Read consistently (classes are written rarely): a default created a moment ago must count.
  const dpc = globalDefault(await listClasses(a, true));
  if (!dpc) return;
  if (a.operation === "CREATE" || dpc.metadata.name !== pc.metadata.name)
    throw admissionForbidden({ group: PRIORITY_CLASSES.group, plural: PRIORITY_CLASSES.plural }, a.name, `PriorityClass ${dpc.metadata.name ?? ""} is already marked as default. Only one default can exist`);
}
