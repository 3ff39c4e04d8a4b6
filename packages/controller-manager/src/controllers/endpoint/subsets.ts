/**
 * Endpoints subsets in their canonical form (upstream's endpoints.RepackSubsets, SortSubsets and
 * the controller's truncateEndpoints): every address grouped with exactly the ports it serves,
 * not-ready winning over ready for an address listed both ways, addresses sorted by IP then pod
 * uid, so two computations of the same pods compare equal.
 */
import { createHash } from "node:crypto";
import type { EndpointAddress, EndpointPort, EndpointSubset } from "kubernetes-types/core/v1.js";
import { canonicalJson } from "../../controller/hash.js";

/** Most addresses one Endpoints object carries (upstream's maxCapacity). */
export const MAX_CAPACITY = 1000;
export const OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity";

/** Stands in for "no ports" while repacking (a headless Service may have none). */
const NO_PORT: EndpointPort = { port: -1 };

const addressKey = (a: EndpointAddress) => `${a.ip}\u0000${a.targetRef?.uid ?? ""}`;
const md5 = (v: unknown) => createHash("md5").update(canonicalJson(v)).digest("hex");

/** LessEndpointAddress: by IP bytes, then a missing targetRef first, then targetRef uid. */
export function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  if (!b.targetRef) return a.targetRef ? 1 : 0;
  if (!a.targetRef) return -1;
  const ua = a.targetRef.uid ?? "";
  const ub = b.targetRef.uid ?? "";
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const addresses = new Map<string, EndpointAddress>();
  // port (as canonical JSON) → its port and every address offering it, with readiness.
  const byPort = new Map<string, { port: EndpointPort; ready: Map<string, boolean> }>();
  const note = (addr: EndpointAddress, port: EndpointPort, ready: boolean) => {
    const key = addressKey(addr);
    if (!addresses.has(key)) addresses.set(key, structuredClone(addr));
    const pk = canonicalJson(port);
    let entry = byPort.get(pk);
    if (!entry) byPort.set(pk, (entry = { port, ready: new Map() }));
    // Not ready trumps ready.
    if (entry.ready.get(key) !== false) entry.ready.set(key, ready);
  };
  for (const s of subsets) {
    const ports = s.ports?.length ? s.ports : [NO_PORT];
    for (const port of ports) {
      for (const a of s.addresses ?? []) note(a, port, true);
      for (const a of s.notReadyAddresses ?? []) note(a, port, false);
    }
  }
  // Ports offered by the very same addresses (with the same readiness) share one subset.
  const groups = new Map<string, { ready: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, ready } of byPort.values()) {
    const sig = [...ready.entries()].map(([k, r]) => `${k}\u0000${r}`).sort().join("\u0001");
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { ready, ports: [] }));
    g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const { ready, ports } of groups.values()) {
    const readyAddrs: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [k, r] of ready) (r ? readyAddrs : notReady).push(addresses.get(k)!);
    const subset: EndpointSubset = {
      ...(readyAddrs.length ? { addresses: readyAddrs.sort(compareAddresses) } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady.sort(compareAddresses) } : {}),
      ...(ports.length === 1 && ports[0] === NO_PORT ? {} : { ports: [...ports].sort((a, b) => cmp(md5(a), md5(b))) }),
    };
    out.push(subset);
  }
  return out.sort((a, b) => cmp(md5(a), md5(b)));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const count = (subsets: readonly EndpointSubset[]) => subsets.reduce((n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);

/** False when the subsets are over capacity or the over-capacity annotation is set without need. */
export function capacityAnnotationSetCorrectly(annotations: Readonly<Record<string, string>> | undefined, subsets: readonly EndpointSubset[]): boolean {
  if (count(subsets) > MAX_CAPACITY) return false;
  return annotations?.[OVER_CAPACITY_ANNOTATION] === undefined;
}

/**
 * Cuts the subsets to MAX_CAPACITY addresses, each subset keeping its proportion (rounded up),
 * not-ready addresses dropped before ready ones. Returns undefined when nothing had to go.
 */
export function truncateSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] | undefined {
  const totalReady = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
  const totalNotReady = subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0);
  if (totalReady + totalNotReady <= MAX_CAPACITY) return undefined;
  const truncateReady = totalReady > MAX_CAPACITY;
  const max = truncateReady ? MAX_CAPACITY : MAX_CAPACITY - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  return subsets.map((s) => {
    const inSubset = truncateReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    const toBeAdded = Math.min(Math.ceil((inSubset / numTotal) * max), canBeAdded);
    if (truncateReady) {
      const addresses = (s.addresses ?? []).slice(0, toBeAdded);
      canBeAdded -= addresses.length;
      const { notReadyAddresses: _dropped, addresses: _all, ...rest } = s;
      return { ...(addresses.length ? { addresses } : {}), ...rest };
    }
    const notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, toBeAdded);
    canBeAdded -= notReadyAddresses.length;
    const { notReadyAddresses: _all, ...rest } = s;
    return { ...rest, ...(notReadyAddresses.length ? { notReadyAddresses } : {}) };
  });
}

/** Subsets equal but for the targetRefs' resourceVersions (pod updates that change nothing here). */
export function subsetsEqualIgnoringResourceVersion(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  const strip = (subsets: readonly EndpointSubset[] | undefined) =>
    canonicalJson(
      (subsets ?? []).map((s) => {
        const clean = (addrs: readonly EndpointAddress[] | undefined) => (addrs?.length ? addrs.map((x) => (x.targetRef ? { ...x, targetRef: { ...x.targetRef, resourceVersion: undefined } } : x)) : undefined);
        return { addresses: clean(s.addresses), notReadyAddresses: clean(s.notReadyAddresses), ports: s.ports?.length ? s.ports : undefined };
      }),
    );
  return strip(a) === strip(b);
}
