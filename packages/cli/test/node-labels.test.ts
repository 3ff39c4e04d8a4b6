import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { labelNodes, minikubeNodeLabels, minikubeTimestamp } from "../src/addons/node-labels.js";

describe("node labels up puts on (minikube's and kubeadm's)", () => {
  it("every node gets minikube's labels; the first is the control plane", () => {
    const t = Date.UTC(2026, 11, 3, 9, 5, 7);
    expect(minikubeNodeLabels("kubemu", 0, t)).toEqual({
      "minikube.k8s.io/name": "kubemu",
      "minikube.k8s.io/primary": "true",
      "minikube.k8s.io/updated_at": minikubeTimestamp(t),
      "minikube.k8s.io/version": "v0.1.0",
      "node-role.kubernetes.io/control-plane": "",
      "node.kubernetes.io/exclude-from-external-load-balancers": "",
    });
    expect(minikubeNodeLabels("kubemu", 1, t)).toEqual({ "minikube.k8s.io/name": "kubemu", "minikube.k8s.io/primary": "false", "minikube.k8s.io/updated_at": minikubeTimestamp(t), "minikube.k8s.io/version": "v0.1.0" });
    expect(minikubeTimestamp(t)).toMatch(/^2026_12_0[34]T\d\d_\d\d_07_0700$/);
  });

  it("merge-patches each node, retrying until it has registered", async () => {
    const seen: { method?: string; url?: string; type?: string; body: unknown }[] = [];
    let misses = 0;
    const server = createServer((req: IncomingMessage, res) => {
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        // The second node registers late: 404 twice first.
        if (req.url?.endsWith("/kubemu-m02") && misses++ < 2) return void res.writeHead(404).end('{"kind":"Status","code":404}');
        seen.push({ method: req.method, url: req.url, type: req.headers["content-type"], body: JSON.parse(text) });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.1.214.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const failed = await labelNodes(`http://127.1.214.1:${port}`, undefined, "kubemu", [{ name: "kubemu", index: 0 }, { name: "kubemu-m02", index: 1 }], 0, 10_000);
      expect(failed).toEqual([]);
      expect(seen.map((s) => [s.method, s.url, s.type])).toEqual([
        ["PATCH", "/api/v1/nodes/kubemu", "application/merge-patch+json"],
        ["PATCH", "/api/v1/nodes/kubemu-m02", "application/merge-patch+json"],
      ]);
      expect(seen[0]!.body).toMatchObject({ metadata: { labels: { "node-role.kubernetes.io/control-plane": "" } } });
      expect(misses).toBe(3);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
