/**
 * The LimitRanger admission plugin, as upstream's (plugin/pkg/admission/limitranger). Mutating,
 * on pod creates: every LimitRange of the namespace fills the containers' (and init
 * containers') missing requests and limits from its Container item's `defaultRequest` and
 * `default`, and records what it set in the `kubernetes.io/limit-ranger` annotation. Validating,
 * on pod creates and on PVC creates and updates: the Container and Pod items' min, max and
 * maxLimitRequestRatio, and the PersistentVolumeClaim items' min and max of requested storage,
 * each violation in upstream's words, all of one LimitRange in one 403.
 */
import { podLimits, podRequests, quantityMilliValue, quantityValue, formatQuantity, computePodQOS, parseResourceList, type Quantity, type ResourceList } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import { admissionForbidden } from "./priority.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export const LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger";

/** How long a live lookup of an empty namespace is trusted (upstream's liveTTL). */
const LIVE_TTL_MS = 30_000;
/** At most this many namespaces' live lookups are remembered (upstream's LRU size). */
const LIVE_CACHE_SIZE = 10_000;

/** What the plugin sees of a request. */
export interface LimitRangerRequest {
  operation: "CREATE" | "UPDATE";
  /** "pods", "persistentvolumeclaims", ... (core group). */
  resource: string;
  group: string;
  subresource?: string;
  namespace: string;
  /** The name for messages: the object's (generated) name, or its generateName before one is generated. */
  name: string;
  object: KubeObject;
  old?: KubeObject;
}

export interface LimitRangerDeps {
  /** The namespace's LimitRanges: from the watch cache, or read consistently. */
  list(namespace: string, consistent: boolean): Promise<KubeObject[]>;
  now(): number;
}

const ZERO: Quantity = { mantissa: 0n, exponent: 0, format: "DecimalSI" };
/** resource.MaxMilliValue: beyond it milli-values would overflow int64. */
const MAX_MILLI_VALUE = Math.floor((2 ** 63 - 1) / 1000);

interface LimitItem {
  type: string;
  min: ResourceList;
  max: ResourceList;
  default: ResourceList;
  defaultRequest: ResourceList;
  maxLimitRequestRatio: ResourceList;
}

function itemsOf(lr: KubeObject): LimitItem[] {
  const limits = isObj(lr.spec) && Array.isArray(lr.spec.limits) ? lr.spec.limits : [];
  return limits.filter(isObj).map((l) => ({
    type: String(l.type ?? ""),
    min: parseResourceList(l.min),
    max: parseResourceList(l.max),
    default: parseResourceList(l.default),
    defaultRequest: parseResourceList(l.defaultRequest),
    maxLimitRequestRatio: parseResourceList(l.maxLimitRequestRatio),
  }));
}

/** requestLimitEnforcedValues: whole values, or milli-values when none would overflow. */
function comparable(req: Quantity, lim: Quantity, enforced: Quantity): [number, number, number] {
  const values: [number, number, number] = [quantityValue(req), quantityValue(lim), quantityValue(enforced)];
  if (values.every((v) => v <= MAX_MILLI_VALUE)) return [quantityMilliValue(req), quantityMilliValue(lim), quantityMilliValue(enforced)];
  return values;
}

const q = formatQuantity;

function minConstraint(type: string, name: string, enforced: Quantity, request: ResourceList, limit: ResourceList): string | undefined {
  const req = request[name];
  const lim = limit[name];
  const [r, l, e] = comparable(req ?? ZERO, lim ?? ZERO, enforced);
  if (!req) return `minimum ${name} usage per ${type} is ${q(enforced)}.  No request is specified`;
  if (r < e) return `minimum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  if (lim && l < e) return `minimum ${name} usage per ${type} is ${q(enforced)}, but limit is ${q(lim)}`;
  return undefined;
}

function maxConstraint(type: string, name: string, enforced: Quantity, request: ResourceList, limit: ResourceList): string | undefined {
  const req = request[name];
  const lim = limit[name];
  const [r, l, e] = comparable(req ?? ZERO, lim ?? ZERO, enforced);
  if (!lim) return `maximum ${name} usage per ${type} is ${q(enforced)}.  No limit is specified`;
  if (l > e) return `maximum ${name} usage per ${type} is ${q(enforced)}, but limit is ${q(lim)}`;
  if (req && r > e) return `maximum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  return undefined;
}

/** maxRequestConstraint: for kinds whose limits are not user input (PVCs). */
function maxRequestConstraint(type: string, name: string, enforced: Quantity, request: ResourceList): string | undefined {
  const req = request[name];
  const [r, , e] = comparable(req ?? ZERO, ZERO, enforced);
  if (!req) return `maximum ${name} usage per ${type} is ${q(enforced)}.  No request is specified`;
  if (r > e) return `maximum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  return undefined;
}

function ratioConstraint(type: string, name: string, enforced: Quantity, request: ResourceList, limit: ResourceList): string | undefined {
  const req = request[name];
  const lim = limit[name];
  const [r, l] = comparable(req ?? ZERO, lim ?? ZERO, enforced);
  if (!req || r === 0) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but no request is specified or request is 0`;
  if (!lim || l === 0) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but no limit is specified or limit is 0`;
  let observed = l / r;
  const display = observed;
  let allowed = quantityValue(enforced);
  if (allowed <= MAX_MILLI_VALUE) {
    observed *= 1000;
    allowed = quantityMilliValue(enforced);
  }
  if (observed > allowed) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but provided ratio is ${display.toFixed(6)}`;
  return undefined;
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several deduplicated in brackets. */
export function aggregateMessage(errs: readonly string[]): string {
  const seen = [...new Set(errs)];
  return seen.length === 1 ? seen[0]! : `[${seen.join(", ")}]`;
}

function containersOf(spec: Obj, field: "containers" | "initContainers"): Obj[] {
  return Array.isArray(spec[field]) ? (spec[field] as unknown[]).filter(isObj) : [];
}

function resourcesOf(c: Obj): Obj {
  return isObj(c.resources) ? c.resources : (c.resources = {});
}

/** mergeContainerResources: missing requests/limits from the defaults; what it set, for the annotation. */
function mergeContainer(c: Obj, defaults: { requests: ResourceList; limits: ResourceList }, prefix: string, notes: string[]): void {
  const res = resourcesOf(c);
  const setLimits: string[] = [];
  const setRequests: string[] = [];
  const fill = (which: "limits" | "requests", from: ResourceList, set: string[]) => {
    const names = Object.keys(from);
    if (names.length === 0) return;
    const cur: Obj = isObj(res[which]) ? (res[which] as Obj) : {};
    for (const k of names) {
      if (k in cur) continue;
      cur[k] = q(from[k]!);
      set.push(k);
    }
    if (Object.keys(cur).length) res[which] = cur;
  };
  fill("limits", defaults.limits, setLimits);
  fill("requests", defaults.requests, setRequests);
  const name = typeof c.name === "string" ? c.name : "";
  if (setRequests.length) notes.push(`${setRequests.sort().join(", ")} request for ${prefix} ${name}`);
  if (setLimits.length) notes.push(`${setLimits.sort().join(", ")} limit for ${prefix} ${name}`);
}

/** PodMutateLimitFunc: one LimitRange's Container defaults applied; true if the pod changed. */
export function mutatePod(lr: KubeObject, pod: KubeObject): boolean {
  const defaults = { requests: {} as ResourceList, limits: {} as ResourceList };
  for (const item of itemsOf(lr)) {
    if (item.type !== "Container") continue;
    Object.assign(defaults.requests, item.defaultRequest);
    Object.assign(defaults.limits, item.default);
  }
  const spec = isObj(pod.spec) ? pod.spec : {};
  const notes: string[] = [];
  for (const c of containersOf(spec, "containers")) mergeContainer(c, defaults, "container", notes);
  for (const c of containersOf(spec, "initContainers")) mergeContainer(c, defaults, "init container", notes);
  if (notes.length === 0) return false;
  pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}` };
  return true;
}

/** PodValidateLimitFunc: every violation of one LimitRange by the pod. */
export function validatePod(lr: KubeObject, pod: KubeObject): string[] {
  const errs: string[] = [];
  const spec = isObj(pod.spec) ? pod.spec : {};
  const check = (item: LimitItem, requests: ResourceList, limits: ResourceList) => {
    for (const [k, v] of Object.entries(item.min)) errs.push(minConstraint(item.type, k, v, requests, limits) ?? "");
    for (const [k, v] of Object.entries(item.max)) errs.push(maxConstraint(item.type, k, v, requests, limits) ?? "");
    for (const [k, v] of Object.entries(item.maxLimitRequestRatio)) errs.push(ratioConstraint(item.type, k, v, requests, limits) ?? "");
  };
  for (const item of itemsOf(lr)) {
    if (item.type === "Container") {
      for (const c of [...containersOf(spec, "containers"), ...containersOf(spec, "initContainers")]) {
        const res = isObj(c.resources) ? c.resources : {};
        check(item, parseResourceList(res.requests), parseResourceList(res.limits));
      }
    }
    if (item.type === "Pod") check(item, podRequests(pod, { overhead: false }), podLimits(pod, { overhead: false }));
  }
  return errs.filter((e) => e !== "");
}

/** PersistentVolumeClaimValidateLimitFunc: the claim's requested storage against min and max (never defaulted). */
export function validateClaim(lr: KubeObject, pvc: KubeObject): string[] {
  const errs: string[] = [];
  const spec = isObj(pvc.spec) ? pvc.spec : {};
  const requests = parseResourceList(isObj(spec.resources) ? spec.resources.requests : undefined);
  for (const item of itemsOf(lr)) {
    if (item.type !== "PersistentVolumeClaim") continue;
    for (const [k, v] of Object.entries(item.min)) errs.push(minConstraint(item.type, k, v, requests, {}) ?? "");
    for (const [k, v] of Object.entries(item.max)) errs.push(maxRequestConstraint(item.type, k, v, requests) ?? "");
  }
  return errs.filter((e) => e !== "");
}

export class LimitRanger {
  /** Namespaces whose cache showed no LimitRange, with what a live read found (upstream's liveLookupCache). */
  private readonly live = new Map<string, { expiry: number; items: KubeObject[] }>();

  constructor(private readonly deps: LimitRangerDeps) {}

  /** SupportsAttributes: pods on create (their containers are immutable after), PVCs on create and update; never subresources. */
  static supports(r: Pick<LimitRangerRequest, "group" | "resource" | "operation" | "subresource">): boolean {
    if (r.subresource || r.group !== "") return false;
    if (r.resource === "pods") return r.operation === "CREATE";
    return r.resource === "persistentvolumeclaims";
  }

  /** The mutating half: Container defaults on pod creates. */
  async admit(r: LimitRangerRequest): Promise<void> {
    if (!LimitRanger.supports(r) || r.resource !== "pods" || this.deleting(r)) return;
    let changed = false;
    for (const lr of await this.limitRanges(r.namespace)) changed = mutatePod(lr, r.object) || changed;
    // The API server records the QoS class after admission (PrepareForCreate); defaults change it.
    if (changed) (isObj(r.object.status) ? r.object.status : (r.object.status = {})).qosClass = computePodQOS(r.object);
  }

  /** The validating half: the first LimitRange the object violates refuses it with all its violations. */
  async validate(r: LimitRangerRequest): Promise<void> {
    if (!LimitRanger.supports(r) || this.deleting(r)) return;
    for (const lr of await this.limitRanges(r.namespace)) {
      const errs = r.resource === "pods" ? validatePod(lr, r.object) : validateClaim(lr, r.object);
      if (errs.length) throw admissionForbidden({ plural: r.resource }, r.name, aggregateMessage(errs));
    }
  }

  /** Objects already marked for deletion are not checked. */
  private deleting(r: LimitRangerRequest): boolean {
    return !!r.old?.metadata.deletionTimestamp;
  }

  /** GetLimitRanges: the cache's, or on a miss a live read remembered for 30 s. */
  private async limitRanges(namespace: string): Promise<KubeObject[]> {
    const cached = await this.deps.list(namespace, false);
    if (cached.length) return cached;
    const now = this.deps.now();
    const hit = this.live.get(namespace);
    if (hit && hit.expiry > now) return hit.items;
    const items = await this.deps.list(namespace, true);
    if (this.live.size >= LIVE_CACHE_SIZE) this.live.delete(this.live.keys().next().value!);
    this.live.set(namespace, { expiry: now + LIVE_TTL_MS, items });
    return items;
  }
}
