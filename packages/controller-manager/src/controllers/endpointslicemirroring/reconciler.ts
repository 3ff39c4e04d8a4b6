/**
 * EndpointSlices mirrored from hand-written Endpoints (upstream's endpointslicemirroring
 * reconciler): one slice per Endpoints subset and address type (at most 1000 addresses each),
 * labels and annotations copied from the Endpoints (but the trigger time and kubectl's
 * last-applied configuration), managed-by endpointslicemirroring-controller.k8s.io, owned by the
 * Endpoints object. Invalid IPs are skipped with an InvalidIPAddress event.
 */
import { isIP } from "node:net";
import type { KubeObject, Logger } from "@kubemu/common";
import { Resources, isNotFound } from "@kubemu/common";
import type { EndpointAddress, EndpointPort as CoreEndpointPort, Endpoints } from "kubernetes-types/core/v1.js";
import type { Endpoint, EndpointPort } from "kubernetes-types/discovery/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { newControllerRef } from "../../controller/controller-ref.js";
import { isNamespaceTerminating, messageOf } from "../../controller/pod-control.js";
import { LAST_CHANGE_TRIGGER_TIME } from "../endpoint-util/pods.js";
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSliceTracker } from "../endpoint-util/slice-tracker.js";
import { EndpointSet, endpointsEqualBeyondHash, portMapKey, type AddressType, type EndpointSliceObject } from "../endpointslice/endpoints.js";

export type EndpointsObject = Endpoints & KubeObject;

/** The managed-by value of mirrored slices. */
export const MIRRORING_CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io";
/** kube-controller-manager's --mirroring-max-endpoints-per-subset default. */
export const MAX_ENDPOINTS_PER_SUBSET = 1000;
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

interface Changes {
  create: EndpointSliceObject[];
  update: EndpointSliceObject[];
  delete: EndpointSliceObject[];
}

/** addressToEndpoint: the address as an endpoint of its family, or undefined for a bad IP. */
export function addressToEndpoint(a: EndpointAddress, ready: boolean): { endpoint: Endpoint; addressType: AddressType } | undefined {
  const family = isIP(a.ip);
  if (family === 0) return undefined;
  return {
    addressType: family === 6 ? "IPv6" : "IPv4",
    endpoint: {
      addresses: [a.ip],
      conditions: { ready },
      ...(a.hostname ? { hostname: a.hostname } : {}),
      ...(a.targetRef ? { targetRef: a.targetRef } : {}),
      ...(a.nodeName ? { nodeName: a.nodeName } : {}),
    },
  };
}

/** epPortsToEpsPorts. */
export function slicePorts(ports: readonly CoreEndpointPort[] | undefined): EndpointPort[] {
  return (ports ?? []).map((p) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP", ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
}

const keyOf = (ports: readonly EndpointPort[], t: AddressType) => `${t}|${portMapKey(ports)}`;

export interface MirroringReconcilerDeps {
  client: ControllerClient;
  tracker: EndpointSliceTracker;
  recorder: Recorder;
  logger: Logger;
  maxEndpointsPerSubset?: number;
}

export class MirroringReconciler {
  private readonly max: number;

  constructor(private readonly d: MirroringReconcilerDeps) {
    this.max = d.maxEndpointsPerSubset ?? MAX_ENDPOINTS_PER_SUBSET;
  }

  newSlice(ep: EndpointsObject, ports: EndpointPort[], addressType: AddressType, name?: string): EndpointSliceObject {
    const annotations = Object.fromEntries(Object.entries(ep.metadata.annotations ?? {}).filter(([k]) => k !== LAST_CHANGE_TRIGGER_TIME && k !== LAST_APPLIED));
    return {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        ...(name ? { name } : { generateName: `${ep.metadata.name}-` }),
        namespace: ep.metadata.namespace,
        labels: { ...(ep.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: ep.metadata.name!, [MANAGED_BY_LABEL]: MIRRORING_CONTROLLER_NAME },
        ...(Object.keys(annotations).length ? { annotations } : {}),
        ownerReferences: [newControllerRef(ep, Resources.endpoints)],
      },
      addressType,
      endpoints: [],
      ports,
    };
  }

  async reconcile(ep: EndpointsObject, existing: readonly EndpointSliceObject[]): Promise<void> {
    const desired = new Map<string, { ports: EndpointPort[]; addressType: AddressType; set: EndpointSet }>();
    let invalid = 0;
    let skipped = 0;
    for (const subset of ep.subsets ?? []) {
      const ports = slicePorts(subset.ports);
      for (const t of ["IPv4", "IPv6"] as const) {
        const k = keyOf(ports, t);
        if (!desired.has(k)) desired.set(k, { ports, addressType: t, set: new EndpointSet() });
      }
      const all = [...(subset.addresses ?? []).map((a) => [a, true] as const), ...(subset.notReadyAddresses ?? []).map((a) => [a, false] as const)];
      let added = 0;
      for (const [a, ready] of all) {
        // One slice per subset: at most max addresses of each subset are mirrored.
        if (added >= this.max) break;
        const e = addressToEndpoint(a, ready);
        if (!e) {
          invalid++;
          this.d.logger.warn({ endpoints: `${ep.metadata.namespace}/${ep.metadata.name}`, ip: a.ip }, "Address in Endpoints is not a valid IP, it will not be mirrored to an EndpointSlice");
          continue;
        }
        desired.get(keyOf(ports, e.addressType))!.set.insert(e.endpoint);
        added++;
      }
      skipped += all.length - added;
    }
    if (invalid > 0) this.d.recorder.event(ep, "Warning", "InvalidIPAddress", `Skipped ${invalid} invalid IP addresses when mirroring to EndpointSlices`);
    if (skipped > invalid) this.d.recorder.event(ep, "Warning", "TooManyAddressesToMirror", `A max of ${this.max} addresses can be mirrored to EndpointSlices per Endpoints subset. ${skipped} addresses were skipped`);

    const existingByKey = new Map<string, EndpointSliceObject[]>();
    for (const s of existing) {
      const k = keyOf(s.ports ?? [], s.addressType as AddressType);
      existingByKey.set(k, [...(existingByKey.get(k) ?? []), s]);
    }
    const changes: Changes = { create: [], update: [], delete: [] };
    for (const [k, d] of desired) {
      const have = existingByKey.get(k) ?? [];
      if (d.set.size === 0) {
        changes.delete.push(...have);
        continue;
      }
      if (have.length > 0) {
        changes.delete.push(...have.slice(1));
        if (!this.needsRewrite(ep, have[0]!, d.set)) continue;
      }
      const slice = this.newSlice(ep, d.ports, d.addressType, have[0]?.metadata.name);
      if (have[0]) slice.metadata.resourceVersion = have[0].metadata.resourceVersion;
      while (d.set.size > 0 && slice.endpoints.length < this.max) slice.endpoints.push(d.set.pop()!);
      (have[0] ? changes.update : changes.create).push(slice);
    }
    for (const [k, slices] of existingByKey) if (!desired.has(k)) changes.delete.push(...slices);
    await this.finalize(ep, changes);
  }

  /** totalChanges plus the copied labels and annotations: anything to write to the first slice? */
  private needsRewrite(ep: EndpointsObject, slice: EndpointSliceObject, desired: EndpointSet): boolean {
    let matches = 0;
    for (const e of slice.endpoints ?? []) {
      const want = desired.get(e);
      if (!want) return true;
      matches++;
      if (!endpointsEqualBeyondHash(want, e) || (want.conditions?.ready ?? null) !== (e.conditions?.ready ?? null)) return true;
    }
    if (desired.size !== matches) return true;
    const expected = this.newSlice(ep, slice.ports ?? [], slice.addressType as AddressType, slice.metadata.name);
    const same = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) => JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());
    return !same(expected.metadata.labels, slice.metadata.labels) || !same(expected.metadata.annotations, slice.metadata.annotations);
  }

  private async finalize(ep: EndpointsObject, c: Changes): Promise<void> {
    // recycleSlices: per address type, turn creates into updates of slices that would be deleted.
    for (const create of [...c.create]) {
      const i = c.delete.findIndex((d) => d.addressType === create.addressType);
      if (i === -1) continue;
      const old = c.delete.splice(i, 1)[0]!;
      c.create.splice(c.create.indexOf(create), 1);
      delete create.metadata.generateName;
      create.metadata.name = old.metadata.name;
      create.metadata.resourceVersion = old.metadata.resourceVersion;
      c.update.push(create);
    }
    const ns = ep.metadata.namespace!;
    const name = `${ns}/${ep.metadata.name}`;
    if (!ep.metadata.deletionTimestamp) {
      for (const s of c.create) {
        try {
          this.d.tracker.update(await this.d.client.create(Resources.endpointSlices, s, { namespace: ns }));
        } catch (e) {
          if (isNamespaceTerminating(e)) return;
          throw new Error(`failed to create EndpointSlice for Endpoints ${name}: ${messageOf(e)}`);
        }
      }
    }
    for (const s of c.update) {
      try {
        this.d.tracker.update(await this.d.client.update(Resources.endpointSlices, s));
      } catch (e) {
        throw new Error(`failed to update ${s.metadata.name} EndpointSlice for Endpoints ${name}: ${messageOf(e)}`);
      }
    }
    for (const s of c.delete) {
      try {
        await this.d.client.delete(Resources.endpointSlices, ns, s.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) throw new Error(`failed to delete ${s.metadata.name} EndpointSlice for Endpoints ${name}: ${messageOf(e)}`);
      }
      this.d.tracker.expectDeletion(s);
    }
  }

  /** Deletes every mirrored slice of an Endpoints object that should no longer be mirrored. */
  async deleteAll(namespace: string, name: string, slices: readonly EndpointSliceObject[]): Promise<void> {
    const errors: unknown[] = [];
    for (const s of slices) {
      try {
        await this.d.client.delete(Resources.endpointSlices, namespace, s.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) errors.push(e);
      }
    }
    if (errors.length > 0) throw new Error(`Error(s) deleting ${errors.length}/${slices.length} EndpointSlices for ${namespace}/${name} Endpoints, including: ${messageOf(errors[0])}`);
  }
}
