/**
 * Discovery documents: legacy (APIVersions, APIGroupList, APIGroup, APIResourceList) and
 * aggregated (apidiscovery.k8s.io/v2 APIGroupDiscoveryList), built from the registry.
 */
import { createHash } from "node:crypto";
import type { Registry } from "../registry/registry.js";
import { ALL_VERBS, groupVersion, type ResourceDef, type Subresource } from "../registry/types.js";
import { SUBRESOURCES } from "../rest/resource-api.js";

export const AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/** Which aggregated format the Accept header asks for, if any. */
export function wantsAggregated(accept: string | undefined): string | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(",")) {
    const p = part.replace(/\s+/g, "");
    if (p.includes("g=apidiscovery.k8s.io") && p.includes("as=APIGroupDiscoveryList")) {
      if (p.includes("v=v2beta1")) return AGGREGATED_V2BETA1;
      if (p.includes("v=v2")) return AGGREGATED_CONTENT_TYPE;
    }
  }
  return undefined;
}

const verbsOf = (r: ResourceDef) => [...(r.verbs ?? ALL_VERBS)];

/** A subresource's kind, group and verbs as upstream reports them (the adapter's table, which serves them). */
function subresourceInfo(r: ResourceDef, sub: Subresource): { group?: string; version?: string; kind: string; verbs: string[] } {
  const info = SUBRESOURCES[sub];
  return { ...(info.group !== undefined ? { group: info.group, version: info.version } : {}), kind: info.kind ?? r.kind, verbs: [...info.verbs] };
}

/**
 * Subresources served by the streaming handlers rather than the generic store (pods' log, exec,
 * attach, portforward), listed in discovery with upstream's kinds and verbs.
 */
const CONNECT_SUBRESOURCES: Readonly<Record<string, readonly { name: string; kind: string; verbs: readonly string[] }[]>> = {
  "/v1/pods": [
    { name: "attach", kind: "PodAttachOptions", verbs: ["create", "get"] },
    { name: "exec", kind: "PodExecOptions", verbs: ["create", "get"] },
    { name: "log", kind: "Pod", verbs: ["get"] },
    { name: "portforward", kind: "PodPortForwardOptions", verbs: ["create", "get"] },
  ],
};

const connectSubresources = (r: ResourceDef) => CONNECT_SUBRESOURCES[`${r.group}/${r.version}/${r.plural}`] ?? [];

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupEntry(registry: Registry, group: string) {
  const versions = registry
    .groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: groupVersion(gv), version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0]! };
}

export function apiGroupList(registry: Registry): unknown {
  const groups = [...new Set(registry.groupVersions().map((gv) => gv.group))].filter((g) => g !== "");
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map((g) => groupEntry(registry, g)) };
}

export function apiGroup(registry: Registry, group: string): unknown | undefined {
  if (group === "" || !registry.groupVersions().some((gv) => gv.group === group)) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(registry, group) };
}

export function apiResourceList(registry: Registry, group: string, version: string): unknown | undefined {
  if (!registry.hasGroupVersion(group, version)) return undefined;
  const resources: Array<{ name: string; [field: string]: unknown }> = [];
  for (const r of registry.inGroupVersion(group, version)) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
      ...(r.shortNames?.length ? { shortNames: [...r.shortNames] } : {}),
      ...(r.categories?.length ? { categories: [...r.categories] } : {}),
      storageVersionHash: storageVersionHash(r),
    });
    for (const sub of r.subresources ?? []) {
      const info = subresourceInfo(r, sub);
      resources.push({
        name: `${r.plural}/${sub}`,
        singularName: "",
        namespaced: r.namespaced,
        ...(info.group !== undefined ? { group: info.group, version: info.version } : {}),
        kind: info.kind,
        verbs: info.verbs,
      });
    }
    for (const c of connectSubresources(r)) resources.push({ name: `${r.plural}/${c.name}`, singularName: "", namespaced: r.namespaced, kind: c.kind, verbs: [...c.verbs] });
  }
  // Upstream lists resources by name, each subresource right after its parent.
  resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: groupVersion({ group, version }), resources };
}

/**
 * Upstream's hash of the storage version ("group/version/kind"): the first 8 bytes of its SHA-256,
 * base64 (batch/v1 Job → "mudhfqk/qZY="). events.k8s.io Events are stored as core/v1 Events.
 */
function storageVersionHash(r: ResourceDef): string {
  const gvk = r.storedAsCoreEvent ? "/v1/Event" : `${r.group}/${r.version}/${r.kind}`;
  return createHash("sha256").update(gvk).digest().subarray(0, 8).toString("base64");
}

/** Aggregated discovery for /api (core only) or /apis (every named group). */
export function aggregatedDiscovery(registry: Registry, core: boolean, apiVersion = "apidiscovery.k8s.io/v2"): unknown {
  const groups = [...new Set(registry.groupVersions().map((gv) => gv.group))].filter((g) => (core ? g === "" : g !== ""));
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g, creationTimestamp: null },
      versions: registry
        .groupVersions()
        .filter((gv) => gv.group === g)
        .map((gv) => ({
          version: gv.version,
          freshness: "Current",
          resources: registry.inGroupVersion(gv.group, gv.version).map((r) => ({
            resource: r.plural,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? "Namespaced" : "Cluster",
            singularResource: r.singular,
            verbs: verbsOf(r),
            ...(r.shortNames?.length ? { shortNames: [...r.shortNames] } : {}),
            ...(r.categories?.length ? { categories: [...r.categories] } : {}),
            ...(r.subresources?.length || connectSubresources(r).length
              ? {
                  subresources: [
                    ...(r.subresources ?? []).map((sub) => {
                      const info = subresourceInfo(r, sub);
                      return {
                        subresource: sub as string,
                        responseKind: { group: info.group ?? r.group, version: info.version ?? r.version, kind: info.kind },
                        verbs: info.verbs,
                      };
                    }),
                    ...connectSubresources(r).map((c) => ({ subresource: c.name, responseKind: { group: r.group, version: r.version, kind: c.kind }, verbs: [...c.verbs] })),
                  ].sort((a, b) => (a.subresource < b.subresource ? -1 : a.subresource > b.subresource ? 1 : 0)),
                }
              : {}),
          })),
        })),
    })),
  };
}
