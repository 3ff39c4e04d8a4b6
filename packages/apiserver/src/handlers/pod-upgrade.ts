/**
 * `pods/exec`, `pods/attach` and `pods/portforward`: the pod and container checked as upstream's
 * ExecLocation (PortForwardLocation: only the host) does, then the client's upgrade request
 * replayed to the node's kubelet (`/exec|attach/<ns>/<pod>/<container>?…`, `/portForward/<ns>/<pod>`)
 * on a fresh connection (kubelet-client.ts: TLS with the API server's kubelet client certificate,
 * or plain to kubelets serving plain HTTP) and the two joined, so whatever the kubelet and kubectl agree
 * on (WebSocket channel protocols, SPDY/3.1, SPDY tunnelled in WebSocket) passes through byte for
 * byte with no buffering. Either side closing closes the other.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { newBadRequest } from "@kubemu/common";
import type { ResourceApi } from "../rest/resource-api.js";
import type { KubeletClient } from "./kubelet-client.js";
import { kubeletAddress, logContainer } from "./pod-log.js";

/** Headers that belong to the hop to the API server, not to the kubelet. */
const HOP_HEADERS = new Set(["host", "authorization", "content-length", "impersonate-user", "impersonate-group", "impersonate-uid"]);

/** PodPortForwardOptions' `ports` become the kubelet's `port` parameters, as upstream's streamParams writes them. */
function portForwardQuery(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const v of q.getAll("ports")) for (const p of v.split(",")) out.append("port", p);
  return out;
}

/** A plain (not upgrading) request to exec, attach or portforward: upstream's 400 once the pod is found. */
export async function refuseWithoutUpgrade(api: ResourceApi, namespace: string, name: string): Promise<never> {
  await api.get(api.resolve({ group: "", version: "v1", resource: "pods", namespace, name }));
  throw newBadRequest("Upgrade request required");
}

export async function proxyPodUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, api: ResourceApi, namespace: string, name: string, subresource: "exec" | "attach" | "portforward", kubelet: KubeletClient): Promise<void> {
  const pod = (await api.get(api.resolve({ group: "", version: "v1", resource: "pods", namespace, name }))) as Pod;
  const url = new URL(req.url ?? "/", "http://apiserver");
  const forward = subresource === "portforward";
  const container = forward ? "" : logContainer(pod, url.searchParams.get("container") || undefined);
  const phase = pod.status?.phase;
  // kubectl's own words for each, as it checks the phase before it connects.
  if (!forward && (phase === "Succeeded" || phase === "Failed")) throw newBadRequest(`cannot ${subresource === "exec" ? "exec into" : "attach"} a container in a completed pod; current phase is ${phase}`);
  if (!pod.spec?.nodeName) throw newBadRequest(`pod ${name} does not have a host assigned`);
  // The node's address from the watch cache (resourceVersion 0), as upstream's kubelet connection info getter reads it.
  const node = (await api.get(api.resolve({ group: "", version: "v1", resource: "nodes", name: pod.spec.nodeName }), "0")) as Node;
  const { host, port } = kubeletAddress(node);
  const query = forward ? portForwardQuery(url.searchParams) : new URLSearchParams(url.searchParams);
  query.delete("container");
  const path = forward
    ? `/portForward/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}${String(query) ? `?${query}` : ""}`
    : `/${subresource}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${query}`;
  const upstream = await kubelet.dial(host, port).catch((e: Error) => {
    throw newBadRequest(`error dialing backend: dial tcp ${host}:${port}: ${e.message}`);
  });
  let lines = `${req.method ?? "GET"} ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i]!;
    if (!HOP_HEADERS.has(k.toLowerCase())) lines += `${k}: ${req.rawHeaders[i + 1]}\r\n`;
  }
  upstream.write(`${lines}\r\n`);
  if (head.length) upstream.write(head);
  (upstream as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  socket.pipe(upstream).pipe(socket);
  const end = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on("error", end).on("close", end);
  socket.on("error", end).on("close", end);
}
