/**
 * Quota evaluators (upstream's pkg/quota/v1/evaluator/core and generic): for one resource, which
 * quota resource names it feeds, the usage one object charges, which requests it handles, and
 * the pod constraints (a quota on cpu or memory requires every container to state them). The
 * ResourceQuota admission plugin charges with them, the resourcequota controller recounts with
 * them.
 */
import type { ObjectMeta } from "../api/object.js";
import { compareQuantities, type Quantity } from "../quantity/index.js";
import { containerResources, containersOf, podLimits, podRequests } from "./pod-resources.js";
import { addLists, wholeQuantity, intersectNames, listsEqual, parseResourceList, type ResourceList, type SpecHolder } from "./resource-list.js";
import { podMatchesScope, quotaScopeSelectors, type ScopeSelector } from "./scopes.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** An object as the evaluators read it. */
export interface QuotaObject {
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

export interface GroupResource {
  group: string;
  resource: string;
}

/** What an evaluator is asked about a request. */
export interface QuotaAttributes {
  operation: "CREATE" | "UPDATE" | "DELETE";
  subresource?: string;
  object?: QuotaObject;
  old?: QuotaObject;
}

export interface QuotaEvaluator {
  readonly groupResource: GroupResource;
  /** Whether this request can change usage (the admission plugin skips it otherwise). */
  handles(a: QuotaAttributes): boolean;
  /** The quota resource names (of `names`) this evaluator accounts for. */
  matchingResources(names: readonly string[]): string[];
  /** Whether the object matches one scope selector (throws on a selector that cannot be evaluated). */
  matchesScope(selector: ScopeSelector, obj: QuotaObject): boolean;
  /** An error text when the object lacks what the `required` quota resources demand, else undefined. */
  constraints(required: readonly string[], obj: QuotaObject): string | undefined;
  /** The usage the object charges at time `now` (ms). */
  usage(obj: QuotaObject, now: number): ResourceList;
}

/** `count/<resource>` for core, `count/<resource>.<group>` otherwise (ObjectCountQuotaResourceNameFor). */
export function objectCountName(gr: GroupResource): string {
  return gr.group ? `count/${gr.resource}.${gr.group}` : `count/${gr.resource}`;
}

/** generic.Matches: the quota tracks one of the evaluator's resources and every scope matches. */
export function quotaMatches(evaluator: QuotaEvaluator, quota: SpecHolder, obj: QuotaObject): boolean {
  const hard = Object.keys(parseResourceList(isObj(quota.status) ? quota.status.hard : undefined));
  if (evaluator.matchingResources(hard).length === 0) return false;
  return quotaScopeSelectors(quota).every((s) => evaluator.matchesScope(s, obj));
}

/** MatchingScopes: the selectors the object matches. */
export function matchingScopes(evaluator: QuotaEvaluator, obj: QuotaObject, selectors: readonly ScopeSelector[]): ScopeSelector[] {
  return selectors.filter((s) => evaluator.matchesScope(s, obj));
}

const noScope = () => false;

/** An evaluator that counts objects (generic.NewObjectCountEvaluator), with an optional legacy name. */
export function objectCountEvaluator(gr: GroupResource, alias?: string): QuotaEvaluator {
  const names = [objectCountName(gr), ...(alias ? [alias] : [])];
  return {
    groupResource: gr,
    handles: (a) => !a.subresource && a.operation === "CREATE",
    matchingResources: (input) => intersectNames(input, names),
    matchesScope: noScope,
    constraints: () => undefined,
    usage: () => Object.fromEntries(names.map((n) => [n, wholeQuantity(1)])),
  };
}

// ---- pods ------------------------------------------------------------------------------------

const POD_COUNT = objectCountName({ group: "", resource: "pods" });
const POD_RESOURCES = [
  POD_COUNT,
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
  "pods",
];
const HUGEPAGES = "hugepages-";
const REQUESTS = "requests.";

/** Quota cpu/memory names that oblige every container to state them (upstream's backward-compatibility "mistake"). */
const VALIDATION_SET = new Set(["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]);

/** helper.IsNativeResource: no domain, or a kubernetes.io domain. */
function isNativeResource(name: string): boolean {
  return !name.includes("/") || name.includes("kubernetes.io/");
}

/** helper.IsExtendedResourceName (without the qualified-name syntax check). */
function isExtendedResourceName(name: string): boolean {
  return !isNativeResource(name) && !name.startsWith(REQUESTS);
}

/** podComputeUsageHelper: what requests and limits amount to in quota names. */
function podComputeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = { pods: wholeQuantity(1) };
  const put = (name: string, q: Quantity | undefined, ...as: string[]) => {
    if (q) for (const n of as) out[n] = q;
  };
  put("cpu", requests.cpu, "cpu", "requests.cpu");
  put("limits.cpu", limits.cpu, "limits.cpu");
  put("memory", requests.memory, "memory", "requests.memory");
  put("limits.memory", limits.memory, "limits.memory");
  put("ephemeral-storage", requests["ephemeral-storage"], "ephemeral-storage", "requests.ephemeral-storage");
  put("limits.ephemeral-storage", limits["ephemeral-storage"], "limits.ephemeral-storage");
  for (const [name, q] of Object.entries(requests)) {
    if (name.startsWith(HUGEPAGES)) {
      out[name] = q;
      out[REQUESTS + name] = q;
    }
    if (isExtendedResourceName(name)) out[REQUESTS + name] = q;
  }
  return out;
}

/**
 * QuotaV1Pod: a pod is charged unless it is terminal, or stuck deleting past its grace period
 * (a lost node's pods must not block their replacements).
 */
export function quotaV1Pod(pod: QuotaObject, now: number): boolean {
  const phase = isObj(pod.status) ? pod.status.phase : undefined;
  if (phase === "Failed" || phase === "Succeeded") return false;
  const m = pod.metadata;
  if (m?.deletionTimestamp && typeof m.deletionGracePeriodSeconds === "number") {
    const deadline = Date.parse(m.deletionTimestamp) + m.deletionGracePeriodSeconds * 1000;
    if (now > deadline) return false;
  }
  return true;
}

/** The pod evaluator (1.32: creates only; in-place resize is off by default). */
export const podEvaluator: QuotaEvaluator = {
  groupResource: { group: "", resource: "pods" },
  handles: (a) => a.operation === "CREATE",
  matchingResources(input) {
    const out = intersectNames(input, POD_RESOURCES);
    for (const name of input) {
      if (name.startsWith(HUGEPAGES) || name.startsWith(REQUESTS + HUGEPAGES)) out.push(name);
      if (!isNativeResource(name) && name.startsWith(REQUESTS)) out.push(name);
    }
    return out;
  },
  matchesScope: (s, pod) => podMatchesScope(s, pod),
  constraints(required, pod) {
    const requiredSet = [...new Set(required)].filter((r) => VALIDATION_SET.has(r));
    const missing = new Map<string, Set<string>>();
    for (const c of [...containersOf(pod.spec, "containers"), ...containersOf(pod.spec, "initContainers")]) {
      const has = new Set(Object.keys(podComputeUsage(containerResources(c, "requests"), containerResources(c, "limits"))));
      for (const r of requiredSet) {
        if (has.has(r)) continue;
        const names = missing.get(r) ?? new Set<string>();
        names.add(typeof c.name === "string" ? c.name : "");
        missing.set(r, names);
      }
    }
    if (missing.size === 0) return undefined;
    const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(",")}`);
    return `must specify ${parts.join("; ")}`;
  },
  usage(pod, now) {
    const out: ResourceList = { [POD_COUNT]: wholeQuantity(1) };
    if (!quotaV1Pod(pod, now)) return out;
    return addLists(out, podComputeUsage(podRequests(pod), podLimits(pod)));
  },
};

// ---- services --------------------------------------------------------------------------------

const SERVICE_COUNT = objectCountName({ group: "", resource: "services" });
const SERVICE_RESOURCES = [SERVICE_COUNT, "services", "services.nodeports", "services.loadbalancers"];

/** GetQuotaServiceType: NodePort and LoadBalancer count; every other type is "". */
export function quotaServiceType(svc: QuotaObject): string {
  const t = isObj(svc.spec) ? svc.spec.type : undefined;
  return t === "NodePort" || t === "LoadBalancer" ? t : "";
}

/** The service evaluator: creates and updates (a type change moves node ports and load balancers). */
export const serviceEvaluator: QuotaEvaluator = {
  groupResource: { group: "", resource: "services" },
  handles: (a) => a.operation === "CREATE" || a.operation === "UPDATE",
  matchingResources: (input) => intersectNames(input, SERVICE_RESOURCES),
  matchesScope: noScope,
  constraints: () => undefined,
  usage(svc) {
    const spec = isObj(svc.spec) ? svc.spec : {};
    const ports = Array.isArray(spec.ports) ? spec.ports : [];
    const out: ResourceList = { [SERVICE_COUNT]: wholeQuantity(1), services: wholeQuantity(1), "services.loadbalancers": wholeQuantity(0), "services.nodeports": wholeQuantity(0) };
    if (spec.type === "NodePort") out["services.nodeports"] = wholeQuantity(ports.length);
    if (spec.type === "LoadBalancer") {
      // Without node port allocation only the ports that name one explicitly take one.
      const explicit = ports.filter((p) => isObj(p) && typeof p.nodePort === "number" && p.nodePort !== 0).length;
      out["services.nodeports"] = wholeQuantity(spec.allocateLoadBalancerNodePorts === false ? explicit : ports.length);
      out["services.loadbalancers"] = wholeQuantity(1);
    }
    return out;
  },
};

// ---- persistent volume claims ----------------------------------------------------------------

const PVC_COUNT = objectCountName({ group: "", resource: "persistentvolumeclaims" });
const PVC_RESOURCES = ["persistentvolumeclaims", "requests.storage"];
/** `<class>.storageclass.storage.k8s.io/<resource>`: a PVC resource counted per storage class. */
export const STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/";

/** GetPersistentVolumeClaimClass: the beta annotation first, then spec.storageClassName. */
export function claimStorageClass(pvc: QuotaObject): string {
  const beta = pvc.metadata?.annotations?.["volume.beta.kubernetes.io/storage-class"];
  if (beta !== undefined) return beta;
  const name = isObj(pvc.spec) ? pvc.spec.storageClassName : undefined;
  return typeof name === "string" ? name : "";
}

/** RoundUp(0): whole bytes, so a fractional request still fits an integer quota. */
function roundUpToWhole(q: Quantity): Quantity {
  if (q.exponent >= 0) return q;
  const div = 10n ** BigInt(-q.exponent);
  if (q.mantissa % div === 0n) return q;
  const whole = q.mantissa / div + (q.mantissa > 0n ? 1n : 0n);
  return { mantissa: whole, exponent: 0, format: q.format };
}

function allocatedStorage(pvc: QuotaObject): Quantity | undefined {
  return parseResourceList(isObj(pvc.status) ? pvc.status.allocatedResources : undefined).storage;
}

/** The storage a claim charges: its request, or what resizing allocated when that is more. */
function claimStorage(pvc: QuotaObject): Quantity | undefined {
  const spec = isObj(pvc.spec) ? pvc.spec : {};
  const requested = parseResourceList(isObj(spec.resources) ? spec.resources.requests : undefined).storage;
  const result = requested ? roundUpToWhole(requested) : undefined;
  const allocated = allocatedStorage(pvc);
  if (result && allocated && compareQuantities(allocated, result) > 0) return roundUpToWhole(allocated);
  return result;
}

/**
 * RequiresQuotaReplenish: the allocated storage changed. (Upstream compares two fresh pointers
 * here, so its status updates always count as changes; kubemu compares the values.)
 */
export function requiresQuotaReplenish(pvc: QuotaObject, old: QuotaObject): boolean {
  const a = allocatedStorage(pvc);
  const b = allocatedStorage(old);
  if (!a || !b) return a !== b;
  return !listsEqual({ s: a }, { s: b });
}

/** The PVC evaluator: creates and updates (expansion), and status writes that change the allocated size. */
export const pvcEvaluator: QuotaEvaluator = {
  groupResource: { group: "", resource: "persistentvolumeclaims" },
  handles(a) {
    if (!a.subresource) return a.operation === "CREATE" || a.operation === "UPDATE";
    if (a.subresource === "status") return !!a.object && !!a.old && requiresQuotaReplenish(a.object, a.old);
    return false;
  },
  matchingResources(input) {
    return input.filter((name) => name === PVC_COUNT || PVC_RESOURCES.includes(name) || PVC_RESOURCES.some((r) => name.endsWith(STORAGE_CLASS_SUFFIX + r)));
  },
  matchesScope: noScope,
  constraints: () => undefined,
  usage(pvc) {
    const out: ResourceList = { persistentvolumeclaims: wholeQuantity(1), [PVC_COUNT]: wholeQuantity(1) };
    const cls = claimStorageClass(pvc);
    if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`] = wholeQuantity(1);
    const storage = claimStorage(pvc);
    if (storage) {
      out["requests.storage"] = storage;
      if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`] = storage;
    }
    return out;
  },
};

// ---- the registry ----------------------------------------------------------------------------

/** Resources quota never counts (upstream's ignored resources: virtual ones and Events). */
export const QUOTA_IGNORED_RESOURCES: ReadonlySet<string> = new Set([
  "/bindings",
  "/componentstatuses",
  "/events",
  "events.k8s.io/events",
  "authentication.k8s.io/tokenreviews",
  "authentication.k8s.io/selfsubjectreviews",
  "authorization.k8s.io/subjectaccessreviews",
  "authorization.k8s.io/selfsubjectaccessreviews",
  "authorization.k8s.io/localsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectrulesreviews",
]);

export const isQuotaIgnored = (gr: GroupResource) => QUOTA_IGNORED_RESOURCES.has(`${gr.group}/${gr.resource}`);

/**
 * The evaluators by group/resource: the special ones, the legacy object counts with their old
 * names (configmaps, resourcequotas, replicationcontrollers, secrets), and an object counter
 * made on first use for any other resource (`count/<resource>.<group>`).
 */
export class QuotaRegistry {
  private readonly byResource = new Map<string, QuotaEvaluator>();

  constructor() {
    for (const e of [podEvaluator, serviceEvaluator, pvcEvaluator]) this.add(e);
    for (const r of ["configmaps", "resourcequotas", "replicationcontrollers", "secrets"]) this.add(objectCountEvaluator({ group: "", resource: r }, r));
  }

  private add(e: QuotaEvaluator): void {
    this.byResource.set(`${e.groupResource.group}/${e.groupResource.resource}`, e);
  }

  /** The evaluator of a resource; an object counter is made for one without its own. */
  get(gr: GroupResource): QuotaEvaluator {
    const key = `${gr.group}/${gr.resource}`;
    let e = this.byResource.get(key);
    if (!e) this.add((e = objectCountEvaluator(gr)));
    return e;
  }

  /** The evaluator of a resource if it has one already. */
  find(gr: GroupResource): QuotaEvaluator | undefined {
    return this.byResource.get(`${gr.group}/${gr.resource}`);
  }

  /** Every evaluator made so far. */
  list(): QuotaEvaluator[] {
    return [...this.byResource.values()];
  }
}
