/**
 * One Service's Endpoints (upstream's endpoints_controller.go syncService): the pods its selector
 * picks, ready ones under `addresses` and the rest under `notReadyAddresses` (all ready with
 * publishNotReadyAddresses), one entry per Service port with named targetPorts resolved per pod,
 * hostnames for a headless Service's pods that name it as subdomain. Services without a selector
 * are left alone: their Endpoints are the user's. Endpoints of a deleted Service are deleted.
 */
import type { KubeObject, Lister, Logger } from "@kubemu/common";
import { Resources, isNotFound, splitKey } from "@kubemu/common";
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { isNamespaceTerminating, messageOf } from "../../controller/pod-control.js";
import { isPodReady } from "../../controller/pod-util.js";
import { HEADLESS_LABEL, LAST_CHANGE_TRIGGER_TIME, findPort, isServiceIPSet, selectorMatches, serviceSelector, shouldPodBeInEndpoints, shouldSetHostname, type PodObject, type ServiceObject } from "../endpoint-util/pods.js";
import { TriggerTimeTracker, formatRfc3339Nano } from "../endpoint-util/trigger-time.js";
import { OVER_CAPACITY_ANNOTATION, capacityAnnotationSetCorrectly, repackSubsets, subsetsEqualIgnoringResourceVersion, truncateSubsets } from "./subsets.js";

export type EndpointsObject = Endpoints & KubeObject;

export interface EndpointsSyncDeps {
  client: ControllerClient;
  services: Lister<ServiceObject>;
  pods: Lister<PodObject>;
  endpoints: Lister<EndpointsObject>;
  recorder: Recorder;
  logger: Logger;
  triggerTimes?: TriggerTimeTracker;
}

/** Remembers the resourceVersion each write replaced, to spot a cache that has not seen the write yet. */
export class StaleEndpointsTracker {
  private readonly replaced = new Map<string, string>();

  stale(ep: EndpointsObject): void {
    this.replaced.set(`${ep.metadata.namespace}/${ep.metadata.name}`, ep.metadata.resourceVersion ?? "");
  }

  isStale(ep: EndpointsObject): boolean {
    return this.replaced.get(`${ep.metadata.namespace}/${ep.metadata.name}`) === ep.metadata.resourceVersion;
  }

  delete(namespace: string, name: string): void {
    this.replaced.delete(`${namespace}/${name}`);
  }
}

const sameMap = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined) => {
  const ea = Object.entries(a ?? {});
  return ea.length === Object.keys(b ?? {}).length && ea.every(([k, v]) => b?.[k] === v);
};

/** The pod's IP of the Service's (first) IP family, as podToEndpointAddressForService picks it. */
function podAddress(svc: ServiceObject, pod: PodObject): EndpointAddress | undefined {
  const isV6 = (ip: string) => ip.includes(":");
  let v6: boolean;
  if (svc.spec?.ipFamilies?.length) v6 = svc.spec.ipFamilies[0] === "IPv6";
  else if (isServiceIPSet(svc)) v6 = isV6(svc.spec!.clusterIP!);
  else v6 = isV6(pod.status?.podIP ?? "");
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip).filter((ip): ip is string => !!ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  const ip = ips.find((i) => isV6(i) === v6);
  if (!ip) return undefined;
  return {
    ip,
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
}

/** The subsets a Service's pods make (not yet repacked). */
export function desiredSubsets(svc: ServiceObject, pods: readonly PodObject[]): EndpointSubset[] {
  const tolerateUnready = svc.spec?.publishNotReadyAddresses === true;
  const subsets: EndpointSubset[] = [];
  const add = (pod: PodObject, addr: EndpointAddress, port: EndpointPort | undefined) => {
    const ports = port ? [port] : [];
    if (tolerateUnready || isPodReady(pod)) subsets.push({ addresses: [addr], ports });
    else subsets.push({ notReadyAddresses: [addr], ports });
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
    const base = podAddress(svc, pod);
    if (!base) continue;
    const addr = shouldSetHostname(pod, svc) ? { ...base, hostname: pod.spec!.hostname! } : base;
    const svcPorts = svc.spec?.ports ?? [];
    if (svcPorts.length === 0) {
      // A headless Service may have no ports at all.
      if (svc.spec?.clusterIP === "None") add(pod, addr, undefined);
      continue;
    }
    for (const sp of svcPorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      add(pod, addr, { ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? "TCP", ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
  }
  return repackSubsets(subsets);
}

export class EndpointsSync {
  readonly triggerTimes: TriggerTimeTracker;
  readonly staleEndpoints = new StaleEndpointsTracker();

  constructor(private readonly d: EndpointsSyncDeps) {
    this.triggerTimes = d.triggerTimes ?? new TriggerTimeTracker();
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    if (!namespace) return;
    const svc = this.d.services.get(namespace, name);
    if (!svc) {
      // The Service is gone: so are its Endpoints.
      try {
        await this.d.client.delete(Resources.endpoints, namespace, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      this.triggerTimes.deleteService(namespace, name);
      this.staleEndpoints.delete(namespace, name);
      return;
    }
    if (svc.spec?.type === "ExternalName") return;
    const selector = serviceSelector(svc);
    // No selector: the Endpoints are written by hand (or by another controller); not ours.
    if (!selector) return;

    const pods = this.d.pods.list({ namespace }).filter((p) => selectorMatches(selector, p.metadata.labels));
    // Computed before any early return so the tracker sees every sync.
    const triggerTime = this.triggerTimes.compute(svc, pods);
    const subsets = desiredSubsets(svc, pods);

    const current = this.d.endpoints.get(namespace, name);
    if (current && this.staleEndpoints.isStale(current)) throw new Error(`endpoints informer cache is out of date, resource version ${current.metadata.resourceVersion} already processed for endpoints ${key}`);
    const labelsWithoutHeadless = { ...(current?.metadata.labels ?? {}) };
    delete labelsWithoutHeadless[HEADLESS_LABEL];
    if (current && subsetsEqualIgnoringResourceVersion(current.subsets, subsets) && sameMap(labelsWithoutHeadless, svc.metadata.labels) && capacityAnnotationSetCorrectly(current.metadata.annotations, current.subsets ?? [])) return;

    const annotations: Record<string, string> = { ...(current?.metadata.annotations ?? {}) };
    if (triggerTime !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME] = formatRfc3339Nano(triggerTime);
    else delete annotations[LAST_CHANGE_TRIGGER_TIME];
    const truncated = truncateSubsets(subsets);
    if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = "truncated";
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (!isServiceIPSet(svc)) labels[HEADLESS_LABEL] = "";
    else delete labels[HEADLESS_LABEL];

    const next: EndpointsObject = {
      ...(current ? structuredClone(current) : { apiVersion: "v1", kind: "Endpoints" }),
      metadata: {
        ...(current ? structuredClone(current.metadata) : { name, namespace }),
        labels,
        annotations,
      },
      subsets: truncated ?? subsets,
    };
    if (Object.keys(labels).length === 0) delete next.metadata.labels;
    if (Object.keys(annotations).length === 0) delete next.metadata.annotations;

    try {
      if (!current) {
        await this.d.client.create(Resources.endpoints, next, { namespace });
        return;
      }
      const updated = await this.d.client.update(Resources.endpoints, next);
      if (updated.metadata.resourceVersion !== current.metadata.resourceVersion) this.staleEndpoints.stale(current);
    } catch (e) {
      // A terminating namespace refuses every create; dropping the key is all there is to do.
      if (!current && isNamespaceTerminating(e)) return;
      if (!current) this.d.recorder.event(next, "Warning", "FailedToCreateEndpoint", `Failed to create endpoint for service ${namespace}/${name}: ${messageOf(e)}`);
      else this.d.recorder.event(next, "Warning", "FailedToUpdateEndpoint", `Failed to update endpoint ${namespace}/${name}: ${messageOf(e)}`);
      throw e;
    }
  }
}
