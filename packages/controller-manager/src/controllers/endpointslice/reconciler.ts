/**
 * Turns a Service's pods and its existing EndpointSlices into creates, updates and deletes
 * (upstream's k8s.io/endpointslice Reconciler): endpoints grouped by the ports they serve, each
 * group filling slices of at most maxEndpointsPerSlice endpoints; existing slices keep the
 * endpoints still wanted (changed ones rewritten in place), slices left empty are deleted (or
 * recycled into the ones that would be created), and a Service with no endpoints keeps one empty
 * placeholder slice.
 */
import type { KubeObject, Lister, Logger } from "@kubemu/common";
import { Resources, isNotFound } from "@kubemu/common";
import type { EndpointPort } from "kubernetes-types/discovery/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import { aggregate } from "../../controller/aggregate.js";
import { newControllerRef } from "../../controller/controller-ref.js";
import { isNamespaceTerminating, messageOf } from "../../controller/pod-control.js";
import { HEADLESS_LABEL, LAST_CHANGE_TRIGGER_TIME, isServiceIPSet, shouldPodBeInEndpoints, type PodObject, type ServiceObject } from "../endpoint-util/pods.js";
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSliceTracker } from "../endpoint-util/slice-tracker.js";
import { formatRfc3339Nano } from "../endpoint-util/trigger-time.js";
import { EndpointSet, endpointPorts, endpointsEqualBeyondHash, podToEndpoint, portMapKey, type AddressType, type EndpointSliceObject } from "./endpoints.js";

/** kube-controller-manager's --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
/** The managed-by value of slices this controller owns. */
export const ENDPOINTSLICE_CONTROLLER_NAME = "endpointslice-controller.k8s.io";

export interface ReconcilerDeps {
  client: ControllerClient;
  nodes: Lister<KubeObject>;
  tracker: EndpointSliceTracker;
  logger: Logger;
  maxEndpointsPerSlice?: number;
  controllerName?: string;
}

interface Meta {
  ports: EndpointPort[];
  addressType: AddressType;
}

interface Changes {
  create: EndpointSliceObject[];
  update: EndpointSliceObject[];
  delete: EndpointSliceObject[];
}

/** The address types a Service's slices carry (from spec.ipFamilies; older objects by their cluster IP). */
export function addressTypesOf(svc: ServiceObject): AddressType[] {
  const fams = (svc.spec?.ipFamilies ?? []).filter((f): f is AddressType => f === "IPv4" || f === "IPv6");
  if (fams.length > 0) return [...new Set(fams)];
  if (isServiceIPSet(svc)) return [svc.spec!.clusterIP!.includes(":") ? "IPv6" : "IPv4"];
  return ["IPv4", "IPv6"];
}

/** Owned by this Service (by uid, kind Service, apiVersion v1). */
export function ownedBy(slice: KubeObject, svc: ServiceObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some((o) => o.uid === svc.metadata.uid && o.kind === "Service" && o.apiVersion === "v1");
}

const RESERVED = new Set([SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL]);

/** setEndpointSliceLabels: the Service's labels plus the reserved ones; changed when the Service's differ. */
export function sliceLabels(slice: KubeObject, svc: ServiceObject, controllerName: string): { labels: Record<string, string>; changed: boolean } {
  const own = Object.entries(slice.metadata.labels ?? {}).filter(([k]) => !RESERVED.has(k));
  const svcLabels = Object.fromEntries(Object.entries(svc.metadata.labels ?? {}).filter(([k]) => !RESERVED.has(k)));
  const changed = own.length !== Object.keys(svcLabels).length || own.some(([k, v]) => svcLabels[k] !== v);
  const labels: Record<string, string> = { ...svcLabels };
  if (!isServiceIPSet(svc)) labels[HEADLESS_LABEL] = "";
  labels[SERVICE_NAME_LABEL] = svc.metadata.name!;
  labels[MANAGED_BY_LABEL] = controllerName;
  return { labels, changed };
}

export class SliceReconciler {
  readonly maxEndpointsPerSlice: number;
  readonly controllerName: string;

  constructor(private readonly d: ReconcilerDeps) {
    this.maxEndpointsPerSlice = d.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
    this.controllerName = d.controllerName ?? ENDPOINTSLICE_CONTROLLER_NAME;
  }

  /** Makes the Service's slices match its pods; rejects with every problem met (after doing the rest). */
  async reconcile(svc: ServiceObject, pods: readonly PodObject[], existing: readonly EndpointSliceObject[], triggerTime: number | undefined): Promise<void> {
    const errors: unknown[] = [];
    const types = addressTypesOf(svc);
    const unsupported = existing.filter((s) => !types.includes(s.addressType as AddressType));
    for (const t of types) {
      try {
        await this.reconcileByAddressType(svc, pods, existing.filter((s) => s.addressType === t), triggerTime, t, errors);
      } catch (e) {
        errors.push(e);
      }
    }
    for (const s of unsupported) {
      try {
        await this.deleteSlice(svc, s);
      } catch (e) {
        errors.push(new Error(`error deleting ${s.metadata.name} EndpointSlice for Service ${svc.metadata.namespace}/${svc.metadata.name}: ${messageOf(e)}`));
      }
    }
    const err = aggregate(errors);
    if (err) throw err;
  }

  newSlice(svc: ServiceObject, meta: Meta): EndpointSliceObject {
    const slice: EndpointSliceObject = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { generateName: `${svc.metadata.name}-`, namespace: svc.metadata.namespace, ownerReferences: [newControllerRef(svc, Resources.services)] },
      addressType: meta.addressType,
      endpoints: [],
      ports: meta.ports,
    };
    slice.metadata.labels = sliceLabels(slice, svc, this.controllerName).labels;
    return slice;
  }

  private async reconcileByAddressType(svc: ServiceObject, pods: readonly PodObject[], existing: readonly EndpointSliceObject[], triggerTime: number | undefined, addressType: AddressType, errors: unknown[]): Promise<void> {
    const changes: Changes = { create: [], update: [], delete: [] };
    const existingByPorts = new Map<string, EndpointSliceObject[]>();
    for (const s of existing) {
      if (!ownedBy(s, svc)) {
        changes.delete.push(s);
        continue;
      }
      const k = portMapKey(s.ports);
      existingByPorts.set(k, [...(existingByPorts.get(k) ?? []), s]);
    }

    const desired = new Map<string, { meta: Meta; set: EndpointSet }>();
    const sorted = [...pods].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
    for (const pod of sorted) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = endpointPorts(svc, pod);
      const k = portMapKey(ports);
      let group = desired.get(k);
      if (!group) desired.set(k, (group = { meta: { ports, addressType }, set: new EndpointSet() }));
      const nodeName = pod.spec?.nodeName ?? "";
      const node = nodeName ? this.d.nodes.get(undefined, nodeName) : undefined;
      if (!node && svc.spec?.publishNotReadyAddresses !== true) {
        // Left out until the Node shows up (the Service is retried), so a pod pointing at a
        // missing Node cannot keep the slice stuck.
        this.d.logger.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, service: `${svc.metadata.namespace}/${svc.metadata.name}`, node: nodeName }, "skipping Pod for Service, Node not found");
        errors.push(new Error(`skipping Pod ${pod.metadata.name} for Service ${svc.metadata.namespace}/${svc.metadata.name}: Node ${nodeName} Not Found`));
        continue;
      }
      const ep = podToEndpoint(pod, node, svc, addressType);
      if (ep.addresses.length > 0) group.set.insert(ep);
    }

    for (const [k, { meta, set }] of desired) {
      const c = this.reconcileByPortMapping(svc, existingByPorts.get(k) ?? [], set, meta);
      changes.create.push(...c.create);
      changes.update.push(...c.update);
      changes.delete.push(...c.delete);
    }
    for (const [k, slices] of existingByPorts) if (!desired.has(k)) changes.delete.push(...slices);

    // A Service with no endpoints at all still gets one (empty) slice.
    if (existing.length === changes.delete.length && changes.create.length === 0) {
      const placeholder = this.newSlice(svc, { ports: [], addressType });
      if (changes.delete.length === 1 && isSamePlaceholder(changes.delete[0]!, placeholder)) changes.delete = [];
      else changes.create.push(placeholder);
    }
    await this.finalize(svc, changes, triggerTime);
  }

  private reconcileByPortMapping(svc: ServiceObject, existing: readonly EndpointSliceObject[], desired: EndpointSet, meta: Meta): Changes {
    const byName = new Map<string, EndpointSliceObject>();
    const unchanged = new Set<string>();
    const toUpdate = new Set<string>();
    const toDelete = new Set<string>();
    const max = this.maxEndpointsPerSlice;

    // 1. Keep the endpoints still wanted, rewriting changed ones; note what each slice needs.
    for (const s of existing) {
      const name = s.metadata.name!;
      byName.set(name, s);
      const kept = [];
      let endpointUpdated = false;
      for (const e of s.endpoints ?? []) {
        const want = desired.get(e);
        if (!want) continue;
        kept.push(want);
        if (!endpointsEqualBeyondHash(want, e)) endpointUpdated = true;
        desired.delete(e);
      }
      const { labels, changed } = sliceLabels(s, svc, this.controllerName);
      if (endpointUpdated || kept.length !== (s.endpoints ?? []).length) {
        if (kept.length === 0) toDelete.add(name);
        else {
          byName.set(name, { ...structuredClone(s), endpoints: kept, metadata: { ...structuredClone(s.metadata), labels } });
          toUpdate.add(name);
        }
      } else if (changed) {
        byName.set(name, { ...structuredClone(s), metadata: { ...structuredClone(s.metadata), labels } });
        toUpdate.add(name);
      } else unchanged.add(name);
    }

    // 2. Fill the slices being updated anyway, fullest first.
    if (desired.size > 0 && toUpdate.size > 0) {
      const slices = [...toUpdate].map((n) => byName.get(n)!).sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0));
      for (const s of slices) {
        const eps = [...(s.endpoints ?? [])];
        while (desired.size > 0 && eps.length < max) eps.push(desired.pop()!);
        byName.set(s.metadata.name!, { ...s, endpoints: eps });
      }
    }

    // 3. Whatever is left: into the unchanged slice it fits best, else into new slices.
    const create: EndpointSliceObject[] = [];
    while (desired.size > 0) {
      let fill: EndpointSliceObject | undefined;
      if (desired.size < max && unchanged.size > 0) fill = sliceToFill([...unchanged].map((n) => byName.get(n)!), desired.size, max);
      fill = fill ? structuredClone(fill) : this.newSlice(svc, meta);
      const eps = [...(fill.endpoints ?? [])];
      while (desired.size > 0 && eps.length < max) eps.push(desired.pop()!);
      fill.endpoints = eps;
      if (fill.metadata.name) {
        byName.set(fill.metadata.name, fill);
        toUpdate.add(fill.metadata.name);
        unchanged.delete(fill.metadata.name);
      } else create.push(fill);
    }
    return { create, update: [...toUpdate].map((n) => byName.get(n)!), delete: [...toDelete].map((n) => byName.get(n)!) };
  }

  private async finalize(svc: ServiceObject, c: Changes, triggerTime: number | undefined): Promise<void> {
    // Rather than delete one slice and create another, rewrite the one that would go.
    for (let i = 0; i < c.delete.length && c.create.length > 0; ) {
      const old = c.delete[i]!;
      const next = c.create[c.create.length - 1]!;
      if (old.addressType === next.addressType && ownedBy(old, svc)) {
        next.metadata.name = old.metadata.name;
        next.metadata.resourceVersion = old.metadata.resourceVersion;
        next.metadata.uid = old.metadata.uid;
        c.create.pop();
        c.update.push(next);
        c.delete.splice(i, 1);
      } else i++;
    }
    const ns = svc.metadata.namespace!;
    const svcName = `${ns}/${svc.metadata.name}`;
    // No new slices for a Service being deleted: the garbage collector is removing them.
    if (!svc.metadata.deletionTimestamp) {
      for (const s of c.create) {
        withTriggerTime(s, triggerTime);
        try {
          this.d.tracker.update(await this.d.client.create(Resources.endpointSlices, s, { namespace: ns }));
        } catch (e) {
          if (isNamespaceTerminating(e)) return;
          throw new Error(`failed to create EndpointSlice for Service ${svcName}: ${messageOf(e)}`);
        }
      }
    }
    for (const s of c.update) {
      withTriggerTime(s, triggerTime);
      try {
        this.d.tracker.update(await this.d.client.update(Resources.endpointSlices, s));
      } catch (e) {
        throw new Error(`failed to update ${s.metadata.name} EndpointSlice for Service ${svcName}: ${messageOf(e)}`);
      }
    }
    for (const s of c.delete) {
      try {
        await this.deleteSlice(svc, s);
      } catch (e) {
        throw new Error(`failed to delete ${s.metadata.name} EndpointSlice for Service ${svcName}: ${messageOf(e)}`);
      }
    }
  }

  private async deleteSlice(svc: ServiceObject, s: EndpointSliceObject): Promise<void> {
    try {
      await this.d.client.delete(Resources.endpointSlices, svc.metadata.namespace, s.metadata.name!);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    this.d.tracker.expectDeletion(s);
  }
}

/** getSliceToFill: the slice that ends up closest to full with n more endpoints. */
function sliceToFill(slices: readonly EndpointSliceObject[], n: number, max: number): EndpointSliceObject | undefined {
  let closest = max;
  let best: EndpointSliceObject | undefined;
  for (const s of slices) {
    const diff = max - (n + (s.endpoints?.length ?? 0));
    if (diff >= 0 && diff < closest) {
      closest = diff;
      best = s;
      if (diff === 0) return best;
    }
  }
  return best;
}

function withTriggerTime(s: EndpointSliceObject, triggerTime: number | undefined): void {
  const annotations = { ...(s.metadata.annotations ?? {}) };
  if (triggerTime !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME] = formatRfc3339Nano(triggerTime);
  else delete annotations[LAST_CHANGE_TRIGGER_TIME];
  s.metadata.annotations = annotations;
  if (Object.keys(annotations).length === 0) delete s.metadata.annotations;
}

/** placeholderSliceCompare: same namespace, labels, owners, address type, and no ports or endpoints. */
function isSamePlaceholder(a: EndpointSliceObject, b: EndpointSliceObject): boolean {
  const labels = (s: EndpointSliceObject) => JSON.stringify(Object.entries(s.metadata.labels ?? {}).sort());
  const owners = (s: EndpointSliceObject) => JSON.stringify((s.metadata.ownerReferences ?? []).map((o) => [o.apiVersion, o.kind, o.name, o.uid, o.controller ?? null, o.blockOwnerDeletion ?? null]));
  return a.metadata.namespace === b.metadata.namespace && labels(a) === labels(b) && owners(a) === owners(b) && a.addressType === b.addressType && (a.ports ?? []).length === 0 && (a.endpoints ?? []).length === 0;
}
