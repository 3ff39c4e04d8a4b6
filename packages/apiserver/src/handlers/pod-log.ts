/**
 * `GET pods/<name>/log`: the container chosen as upstream's LogLocation does (the only one, or
 * the `container` parameter), then the request proxied to the pod's node's kubelet
 * (`/containerLogs/<ns>/<pod>/<container>`, at the node's InternalIP and kubelet port) and its
 * answer streamed back unbuffered, so `follow` lines reach kubectl as they are written. A kubelet
 * error becomes a Status the way upstream's response checker makes one (400 → BadRequest with
 * the kubelet's text).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { newBadRequest, newInternalError, newStatus, StatusError } from "@kubemu/common";
import type { ResourceApi } from "../rest/resource-api.js";
import type { KubeletClient } from "./kubelet-client.js";

/** The query parameters of PodLogOptions the kubelet reads. */
const FORWARDED = ["follow", "previous", "timestamps", "sinceSeconds", "sinceTime", "tailLines", "limitBytes"];

const names = (cs: { name: string }[] | undefined) => (cs ?? []).map((c) => c.name).join(" ");

/** The container whose log is asked for, in upstream's words when it cannot be chosen. */
export function logContainer(pod: Pod, requested: string | undefined): string {
  const name = pod.metadata?.name ?? "";
  const spec = pod.spec;
  if (!requested) {
    if (spec?.containers.length === 1) return spec.containers[0]!.name;
    let msg = `a container name must be specified for pod ${name}, choose one of: [${names(spec?.containers)}]`;
    if (spec?.initContainers?.length) msg += ` or one of the init containers: [${names(spec.initContainers)}]`;
    throw newBadRequest(msg);
  }
  const all = [...(spec?.containers ?? []), ...(spec?.initContainers ?? []), ...((spec?.ephemeralContainers ?? []) as { name: string }[])];
  if (!all.some((c) => c.name === requested)) throw newBadRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** Upstream's PodLogOptions validation of the numbers. */
function validate(q: URLSearchParams): void {
  const num = (k: string) => (q.get(k) ? Number(q.get(k)) : undefined);
  const problems: string[] = [];
  const tail = num("tailLines");
  if (tail !== undefined && !(tail >= 0)) problems.push(`tailLines: Invalid value: ${q.get("tailLines")}: must be greater than or equal to 0`);
  const limit = num("limitBytes");
  if (limit !== undefined && !(limit >= 1)) problems.push(`limitBytes: Invalid value: ${q.get("limitBytes")}: must be greater than 0`);
  const since = num("sinceSeconds");
  if (since !== undefined && !(since >= 1)) problems.push(`sinceSeconds: Invalid value: ${q.get("sinceSeconds")}: must be greater than 0`);
  if (q.get("sinceSeconds") && q.get("sinceTime")) problems.push("[sinceSeconds sinceTime]: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified");
  if (problems.length) throw new StatusError(newStatus("Invalid", `PodLogOptions "" is invalid: ${problems.join(", ")}`, { kind: "PodLogOptions" }, 422));
}

/** Where the node's kubelet listens: its InternalIP and daemonEndpoints port. */
export function kubeletAddress(node: Node): { host: string; port: number } {
  const addrs = node.status?.addresses ?? [];
  const host = addrs.find((a) => a.type === "InternalIP")?.address ?? addrs.find((a) => a.type === "Hostname")?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
  if (!host) throw newInternalError(`no preferred addresses found; known addresses: []`);
  return { host, port };
}

export async function handlePodLog(req: IncomingMessage, res: ServerResponse, api: ResourceApi, namespace: string, name: string, q: URLSearchParams, kubelet: KubeletClient): Promise<string> {
  if (req.method !== "GET" && req.method !== "HEAD") throw new StatusError(newStatus("MethodNotAllowed", "the server does not allow this method on the requested resource", undefined, 405));
  validate(q);
  const pod = (await api.get(api.resolve({ group: "", version: "v1", resource: "pods", namespace, name }))) as Pod;
  const container = logContainer(pod, q.get("container") || undefined);
  const nodeName = pod.spec?.nodeName;
  // Not scheduled yet: upstream has no location and answers an empty log.
  if (!nodeName) {
    res.writeHead(200, { "content-type": "text/plain" }).end();
    return "get";
  }
  // The node's address from the watch cache (resourceVersion 0), as upstream's kubelet connection info getter reads it.
  const node = (await api.get(api.resolve({ group: "", version: "v1", resource: "nodes", name: nodeName }), "0")) as Node;
  const { host, port } = kubeletAddress(node);
  const forward = new URLSearchParams();
  for (const k of FORWARDED) for (const v of q.getAll(k)) forward.append(k, v);
  const path = `/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}${forward.size ? `?${forward}` : ""}`;
  await new Promise<void>((resolve, reject) => {
    const upstream = kubelet.request({ host, port, path, method: "GET", headers: { accept: "*/*" } }, (answer) => {
      const code = answer.statusCode ?? 500;
      if (code < 200 || code > 206) {
        let text = "";
        answer.setEncoding("utf8");
        answer.on("data", (c: string) => (text += c.length + text.length > 64 * 1024 ? "" : c));
        answer.on("end", () => {
          if (code === 400) reject(newBadRequest(text));
          else if (code === 500) reject(newInternalError(text));
          else reject(new StatusError(newStatus(code === 404 ? "NotFound" : "InternalError", text, { name, kind: "pods/log" }, code)));
        });
        return;
      }
      res.writeHead(200, { "content-type": answer.headers["content-type"] ?? "text/plain" });
      res.flushHeaders();
      answer.pipe(res);
      answer.on("end", () => resolve());
      answer.on("error", () => resolve());
      res.on("close", () => {
        answer.destroy();
        resolve();
      });
    });
    upstream.on("error", (e) => reject(res.headersSent ? e : newInternalError(`Get "${kubelet.scheme}://${host}:${port}${path}": ${e.message}`)));
    req.on("close", () => {
      if (res.writableEnded || !res.headersSent) return;
      upstream.destroy();
    });
    upstream.end();
  }).catch((e: unknown) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    throw e;
  });
  return "get";
}
