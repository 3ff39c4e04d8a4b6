/**
 * ingress-nginx's API side against a fake API server on 127.232.201.1: the informer's list, watch,
 * relist after 410 Gone (a vanished object becomes a delete), event aggregation (count on a
 * repeat), and the status addresses (Ready pods' nodes, InternalIP unless an ExternalIP exists).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Informer, KubeClient, type Change } from "../src/ingress-nginx/kube.js";
import { EventRecorder } from "../src/ingress-nginx/events.js";
import { controllerSelector, nodeAddresses, runningAddresses, sameStatus, updateIngressStatus } from "../src/ingress-nginx/status.js";
import type { Ingress } from "../src/ingress-nginx/types.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handler: Handler = (_q, res) => res.end("{}");
let server: Server;
let client: KubeClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.232.201.1", r));
  client = new KubeClient({ server: `http://127.232.201.1:${(server.address() as AddressInfo).port}` }, "test");
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const obj = (name: string, rv: string) => ({ metadata: { name, namespace: "default", resourceVersion: rv } });

describe("Informer", () => {
  it("lists, applies watch events, and after 410 Gone relists: what vanished meanwhile is a delete", async () => {
    let lists = 0;
    handler = (req, res) => {
      const url = new URL(req.url!, "http://x");
      if (url.searchParams.get("watch") !== "1") {
        lists++;
        res.end(JSON.stringify({ metadata: { resourceVersion: lists === 1 ? "10" : "20" }, items: lists === 1 ? [obj("a", "9"), obj("b", "10")] : [obj("a", "19")] }));
        return;
      }
      if (url.searchParams.get("resourceVersion") === "10") {
        res.write(`${JSON.stringify({ type: "ADDED", object: obj("c", "11") })}\n`);
        res.write(`${JSON.stringify({ type: "MODIFIED", object: obj("c", "12") })}\n`);
        res.write(`${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "13" } } })}\n`);
        res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } })}\n`);
        return;
      }
      // After the relist: hold the watch open.
      res.write("");
    };
    const changes: string[] = [];
    const stop = new AbortController();
    const inf = new Informer<{ metadata: { name: string; namespace?: string; resourceVersion?: string } }>(client, "/api/v1/things", (c: Change<{ metadata: { name: string } }>) => changes.push(`${c.type} ${c.obj.metadata.name}`), () => undefined);
    const done = inf.run(stop.signal);
    await inf.synced;
    const deadline = Date.now() + 5000;
    while (lists < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await done;
    expect(changes).toEqual(["add a", "add b", "add c", "update c", "update a", "delete b", "delete c"]);
    expect([...inf.items.keys()]).toEqual(["default/a"]);
  });
});

describe("EventRecorder", () => {
  it("creates an Event in client-go's shape, then raises count on a repeat", async () => {
    const calls: { method: string; url: string; body: Record<string, any> }[] = [];
    handler = (req, res, body) => {
      calls.push({ method: req.method!, url: req.url!, body: JSON.parse(body) as Record<string, any> });
      res.end("{}");
    };
    const rec = new EventRecorder(client, "nginx-ingress-controller", () => undefined, () => new Date("2026-12-03T18:00:00.123Z"));
    const ing = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web", namespace: "default", uid: "u-1", resourceVersion: "7" } };
    rec.event(ing, "Normal", "Sync", "Scheduled for sync");
    await new Promise((r) => setTimeout(r, 100));
    rec.event(ing, "Normal", "Sync", "Scheduled for sync");
    await new Promise((r) => setTimeout(r, 100));
    expect(calls[0]!.method).toBe("POST");
    expect(calls[0]!.url).toBe("/api/v1/namespaces/default/events");
    expect(calls[0]!.body).toMatchObject({
      involvedObject: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "default", name: "web", uid: "u-1" },
      reason: "Sync",
      message: "Scheduled for sync",
      source: { component: "nginx-ingress-controller" },
      type: "Normal",
      count: 1,
      firstTimestamp: "2026-12-03T18:00:00Z",
    });
    expect(calls[0]!.body.metadata.name).toMatch(/^web\.[0-9a-f]+$/);
    expect(calls[1]).toMatchObject({ method: "PATCH", url: `/api/v1/namespaces/default/events/${calls[0]!.body.metadata.name}`, body: { count: 2 } });
  });
});

describe("status", () => {
  it("addresses: the nodes of Running and Ready pods with the controller's labels", async () => {
    const urls: string[] = [];
    handler = (req, res) => {
      urls.push(req.url!);
      if (req.url!.startsWith("/api/v1/namespaces/ingress-nginx/pods")) {
        const pod = (name: string, node: string, ready: string) => ({ metadata: { name }, spec: { nodeName: node }, status: { phase: "Running", conditions: [{ type: "Ready", status: ready }] } });
        res.end(JSON.stringify({ items: [pod("a", "n1", "True"), pod("b", "n2", "False"), pod("c", "n1", "True")] }));
      } else res.end(JSON.stringify({ metadata: { name: "n1" }, status: { addresses: [{ type: "InternalIP", address: "127.0.100.1" }, { type: "Hostname", address: "n1" }] } }));
    };
    const o = { client, namespace: "ingress-nginx", podLabels: { "app.kubernetes.io/name": "ingress-nginx", "pod-template-hash": "abc" }, publishStatusAddress: "", useNodeInternalIP: false, log: () => undefined };
    expect(await runningAddresses(o)).toEqual([{ ip: "127.0.100.1" }]);
    expect(decodeURIComponent(urls[0]!)).toBe("/api/v1/namespaces/ingress-nginx/pods?labelSelector=app.kubernetes.io/name=ingress-nginx");
    expect(await runningAddresses({ ...o, publishStatusAddress: "10.0.0.1, lb.example.com" })).toEqual([{ ip: "10.0.0.1" }, { hostname: "lb.example.com" }]);
  });

  it("an ExternalIP wins unless --report-node-internal-ip-address; only differing Ingresses are written", async () => {
    const node = { metadata: { name: "n" }, status: { addresses: [{ type: "InternalIP", address: "10.0.0.5" }, { type: "ExternalIP", address: "34.1.2.3" }] } };
    expect(nodeAddresses(node, false)).toEqual(["34.1.2.3"]);
    expect(nodeAddresses(node, true)).toEqual(["10.0.0.5"]);
    expect(controllerSelector({ a: "1", "pod-template-hash": "x", "controller-revision-hash": "y" })).toBe("a=1");
    expect(sameStatus([{ ip: "1.1.1.1" }, { ip: "2.2.2.2" }], [{ ip: "2.2.2.2" }, { ip: "1.1.1.1" }])).toBe(true);
    const puts: string[] = [];
    handler = (req, res) => {
      puts.push(`${req.method} ${req.url}`);
      res.end("{}");
    };
    const ing = (name: string, ip?: string): Ingress => ({ metadata: { name, namespace: "default" }, status: { loadBalancer: ip ? { ingress: [{ ip }] } : {} } });
    await updateIngressStatus({ client, namespace: "x", podLabels: {}, publishStatusAddress: "", useNodeInternalIP: false, log: () => undefined }, [ing("same", "127.0.100.1"), ing("new")], [{ ip: "127.0.100.1" }]);
    expect(puts).toEqual(["PUT /apis/networking.k8s.io/v1/namespaces/default/ingresses/new/status"]);
  });
});
