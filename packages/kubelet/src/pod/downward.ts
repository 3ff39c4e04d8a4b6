/**
 * Downward API values (env fieldRef / resourceFieldRef, downwardAPI volume items) as the kubelet
 * resolves them: pod fields by path and container resources with a divisor, where an unset limit
 * is the node's allocatable.
 */
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { parseQuantity, quantityMilliValue, quantityValue } from "@kubemu/common";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** `metadata.labels` / `metadata.annotations` as downward volumes write them: key="value" lines, sorted. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join("\n");
}

const SUBSCRIPT = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/;

/** The value of a fieldRef path for this pod (podIPs: the pod's IPs, joined by commas). */
export function podFieldValue(pod: Pod, path: string, ips: { podIP: string; hostIP: string }): string {
  const m = SUBSCRIPT.exec(path);
  if (m) {
    const map = m[1] === "metadata.labels" ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[m[2]!] ?? "";
  }
  switch (path) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "metadata.labels":
      return formatMap(pod.metadata?.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata?.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.hostIP":
    case "status.hostIPs":
      return ips.hostIP;
    case "status.podIP":
    case "status.podIPs":
      return ips.podIP;
    default:
      throw new ConfigError(`unsupported fieldPath: ${path}`);
  }
}

/** resourceFieldRef: limits.cpu etc., divided by divisor and rounded up, as upstream's ExtractContainerResourceValue. */
export function containerResourceValue(container: Container, resource: string, divisor: string | undefined, allocatable: Record<string, string>): string {
  const [kind, name] = resource.split(".", 2) as [string, string | undefined];
  if ((kind !== "limits" && kind !== "requests") || !name || !["cpu", "memory", "ephemeral-storage"].includes(name)) throw new ConfigError(`unsupported container resource : ${resource}`);
  const reqs = container.resources?.[kind] as Record<string, string> | undefined;
  // Unset limits default to the node's allocatable; unset requests to the limit, then 0.
  let raw = reqs?.[name];
  if (raw === undefined && kind === "limits") raw = allocatable[name];
  if (raw === undefined && kind === "requests") raw = (container.resources?.limits as Record<string, string> | undefined)?.[name] ?? "0";
  const q = parseQuantity(String(raw ?? "0"));
  const d = parseQuantity(divisor && divisor !== "0" ? divisor : "1");
  if (name === "cpu") return String(Math.ceil(quantityMilliValue(q) / quantityMilliValue(d)));
  return String(Math.ceil(quantityValue(q) / quantityValue(d)));
}
