/**
 * Service IP and NodePort allocation around create/update/delete. Allocations made for a write
 * that then fails are released (the returned undo), as upstream's transaction does.
 */
import type { KubeObject } from "../storage/index.js";
import type { ServiceAllocators } from "../allocators/service-allocators.js";

type Obj = Record<string, any>;
type Undo = () => Promise<void>;

const usesNodePorts = (type: unknown) => type === "NodePort" || type === "LoadBalancer";
const hasClusterIP = (spec: Obj) => spec.type !== "ExternalName" && spec.clusterIP !== "None";
/** Upstream's NeedsHealthCheck: a LoadBalancer keeping traffic on nodes with local endpoints gets a health-check node port. */
const needsHealthCheck = (spec: Obj) => spec.type === "LoadBalancer" && spec.externalTrafficPolicy === "Local";
const HC_FIELD = "spec.healthCheckNodePort";
const requestedPort = (v: unknown) => (v === undefined || v === null || v === 0 ? undefined : (v as number));

/** Allocates for a new service in place; returns how to undo it. */
export async function allocateForCreate(svc: KubeObject, alloc: ServiceAllocators, dryRun: boolean): Promise<Undo> {
  const spec = (svc.spec ?? {}) as Obj;
  const name = svc.metadata.name ?? "";
  const undo: Undo[] = [];
  const rollback = async () => {
    for (const u of undo.reverse()) await u().catch(() => undefined);
  };
  try {
    if (hasClusterIP(spec)) {
      const requested = spec.clusterIP || (Array.isArray(spec.clusterIPs) ? spec.clusterIPs[0] : undefined);
      if (dryRun) {
        // Show what a real create would get without keeping it.
        const ip = await alloc.allocateIp(requested || undefined, name);
        await alloc.releaseIp(ip);
        spec.clusterIP = ip;
      } else {
        const ip = await alloc.allocateIp(requested || undefined, name);
        undo.push(() => alloc.releaseIp(ip));
        spec.clusterIP = ip;
      }
      spec.clusterIPs = [spec.clusterIP];
    } else if (spec.clusterIP === "None") spec.clusterIPs = ["None"];
    if (usesNodePorts(spec.type) && Array.isArray(spec.ports)) {
      for (const [i, p] of (spec.ports as Obj[]).entries()) {
        if (dryRun) continue;
        const port = await alloc.allocatePort(p.nodePort, `spec.ports[${i}].nodePort`, name);
        undo.push(() => alloc.releasePort(port));
        p.nodePort = port;
      }
    }
    if (needsHealthCheck(spec) && !dryRun) {
      const port = await alloc.allocatePort(requestedPort(spec.healthCheckNodePort), HC_FIELD, name);
      undo.push(() => alloc.releasePort(port));
      spec.healthCheckNodePort = port;
    }
  } catch (e) {
    await rollback();
    throw e;
  }
  return rollback;
}

/**
 * Handles an update: keeps the ClusterIP, allocates node ports for ports that need one, and
 * reports which old node ports to free once the update commits.
 */
export async function allocateForUpdate(
  svc: KubeObject,
  old: KubeObject,
  alloc: ServiceAllocators,
  dryRun: boolean,
): Promise<{ undo: Undo; commit: Undo }> {
  const spec = (svc.spec ?? {}) as Obj;
  const oldSpec = (old.spec ?? {}) as Obj;
  const name = svc.metadata.name ?? "";
  const undo: Undo[] = [];
  const rollback = async () => {
    for (const u of undo.reverse()) await u().catch(() => undefined);
  };
  const toFree: number[] = [];
  const oldPorts = new Set<number>((Array.isArray(oldSpec.ports) ? oldSpec.ports : []).map((p: Obj) => p.nodePort).filter((n: unknown) => typeof n === "number"));
  try {
    if (hasClusterIP(spec) && hasClusterIP(oldSpec) && oldSpec.clusterIP) {
      if (!spec.clusterIP) spec.clusterIP = oldSpec.clusterIP;
      if (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0) spec.clusterIPs = [spec.clusterIP];
    } else if (hasClusterIP(spec) && !dryRun) {
      const ip = await alloc.allocateIp(spec.clusterIP || undefined, name);
      undo.push(() => alloc.releaseIp(ip));
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    }
    const keep = new Set<number>();
    if (usesNodePorts(spec.type) && Array.isArray(spec.ports)) {
      // A port that names no nodePort keeps the one it had (upstream patchAllocatedValues).
      const previous: Obj[] = Array.isArray(oldSpec.ports) ? oldSpec.ports : [];
      for (const p of spec.ports as Obj[]) {
        if (p.nodePort !== undefined) continue;
        const same = previous.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"));
        if (typeof same?.nodePort === "number") p.nodePort = same.nodePort;
      }
      for (const [i, p] of (spec.ports as Obj[]).entries()) {
        if (typeof p.nodePort === "number" && oldPorts.has(p.nodePort)) {
          keep.add(p.nodePort);
          continue;
        }
        if (dryRun) continue;
        const port = await alloc.allocatePort(p.nodePort, `spec.ports[${i}].nodePort`, name);
        undo.push(() => alloc.releasePort(port));
        p.nodePort = port;
      }
    } else if (Array.isArray(spec.ports)) for (const p of spec.ports as Obj[]) delete p.nodePort;
    for (const n of oldPorts) if (!keep.has(n)) toFree.push(n);
    // Health-check node port (upstream updateHealthCheckNodePort): kept while still needed and not
    // named anew, allocated when it becomes needed, freed (and cleared) when no longer needed.
    const oldHc = needsHealthCheck(oldSpec) && typeof oldSpec.healthCheckNodePort === "number" ? (oldSpec.healthCheckNodePort as number) : undefined;
    if (needsHealthCheck(spec)) {
      const wanted = requestedPort(spec.healthCheckNodePort);
      if (oldHc !== undefined && (wanted === undefined || wanted === oldHc)) spec.healthCheckNodePort = oldHc;
      else if (!dryRun) {
        const port = await alloc.allocatePort(wanted, HC_FIELD, name);
        undo.push(() => alloc.releasePort(port));
        spec.healthCheckNodePort = port;
        if (oldHc !== undefined) toFree.push(oldHc);
      }
    } else if (oldHc !== undefined) {
      if (spec.healthCheckNodePort === oldHc) delete spec.healthCheckNodePort;
      toFree.push(oldHc);
    }
  } catch (e) {
    await rollback();
    throw e;
  }
  const commit = async () => {
    if (dryRun) return;
    for (const n of toFree) await alloc.releasePort(n).catch(() => undefined);
    if (hasClusterIP(oldSpec) && !hasClusterIP(spec)) await alloc.releaseIp(oldSpec.clusterIP).catch(() => undefined);
  };
  return { undo: rollback, commit };
}

/** Frees everything a deleted service held. */
export async function releaseForDelete(svc: KubeObject, alloc: ServiceAllocators): Promise<void> {
  const spec = (svc.spec ?? {}) as Obj;
  if (hasClusterIP(spec)) await alloc.releaseIp(spec.clusterIP).catch(() => undefined);
  if (Array.isArray(spec.ports)) for (const p of spec.ports as Obj[]) await alloc.releasePort(p.nodePort).catch(() => undefined);
  if (needsHealthCheck(spec)) await alloc.releasePort(spec.healthCheckNodePort).catch(() => undefined);
}
