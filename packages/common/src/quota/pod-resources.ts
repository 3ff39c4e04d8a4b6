/**
 * A pod's effective requests and limits (component-helpers' PodRequests / PodLimits): the sum
 * over its containers, at least the largest init container — where a restartable init container
 * (a sidecar, `restartPolicy: Always`) keeps running, so it adds to the containers and to every
 * init container that starts after it — plus the pod overhead (to every request, and to the
 * limits the pod already has).
 */
import { compareQuantities } from "../quantity/index.js";
import { addQuantity, parseResourceList, type ResourceList, type SpecHolder } from "./resource-list.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The containers of a pod spec (or of an init container list), non-objects dropped. */
export function containersOf(spec: unknown, field: "containers" | "initContainers"): Obj[] {
  const list = isObj(spec) ? spec[field] : undefined;
  return Array.isArray(list) ? list.filter(isObj) : [];
}

/** A container's `resources.requests` or `resources.limits`. */
export function containerResources(c: Obj, which: "requests" | "limits"): ResourceList {
  return parseResourceList(isObj(c.resources) ? c.resources[which] : undefined);
}

/** addResourceList: list += add, in place. */
function addInto(list: ResourceList, add: ResourceList): void {
  for (const [k, v] of Object.entries(add)) list[k] = list[k] ? addQuantity(list[k], v) : v;
}

/** maxResourceList: list = max(list, other), in place (the other value only when strictly larger). */
function maxInto(list: ResourceList, other: ResourceList): void {
  for (const [k, v] of Object.entries(other)) if (!list[k] || compareQuantities(v, list[k]) > 0) list[k] = v;
}

/** The containers' sum, raised to the largest init container's needs (sidecars accumulated). */
function aggregate(spec: unknown, which: "requests" | "limits"): ResourceList {
  const total: ResourceList = {};
  for (const c of containersOf(spec, "containers")) addInto(total, containerResources(c, which));
  const sidecars: ResourceList = {};
  const initMax: ResourceList = {};
  for (const c of containersOf(spec, "initContainers")) {
    const own = containerResources(c, which);
    let needs: ResourceList;
    if (c.restartPolicy === "Always") {
      addInto(total, own);
      addInto(sidecars, own);
      needs = { ...sidecars };
    } else {
      needs = { ...own };
      addInto(needs, sidecars);
    }
    maxInto(initMax, needs);
  }
  maxInto(total, initMax);
  return total;
}

/** Pod overhead (`spec.overhead`). */
function overheadOf(spec: unknown): ResourceList {
  return parseResourceList(isObj(spec) ? spec.overhead : undefined);
}

/** PodRequests; `overhead: false` leaves the pod overhead out (the LimitRanger's pod sums). */
export function podRequests(pod: SpecHolder, opts: { overhead?: boolean } = {}): ResourceList {
  const reqs = aggregate(pod.spec, "requests");
  if (opts.overhead !== false) addInto(reqs, overheadOf(pod.spec));
  return reqs;
}

/** PodLimits; the overhead is added only to resources the pod has a limit for. */
export function podLimits(pod: SpecHolder, opts: { overhead?: boolean } = {}): ResourceList {
  const limits = aggregate(pod.spec, "limits");
  if (opts.overhead !== false) for (const [k, v] of Object.entries(overheadOf(pod.spec))) if (limits[k]) limits[k] = addQuantity(limits[k], v);
  return limits;
}
