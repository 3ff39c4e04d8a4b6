/**
 * coredns's informers against a small fake API server on 127.1.169.41: the first lists fill the
 * model and mark it synced, watch events update it, a watch that ends resumes from the last
 * resourceVersion, and 410 Gone lists again (dropping what vanished meanwhile).
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterModel } from "../src/coredns/model.js";
import { startInformers } from "../src/coredns/watch.js";

const IP = "127.1.169.41";
const svc = (name: string, ip: string, rv: string) => ({ metadata: { name, namespace: "default", resourceVersion: rv }, spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: "http", port: 80 }] } });

let server: Server;
let port = 0;
const watches: { path: string; rv: string; res: ServerResponse }[] = [];
let services = [svc("a", "127.96.1.1", "5")];
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push(`${url.pathname}${url.searchParams.get("watch") ? ` watch rv=${url.searchParams.get("resourceVersion")}` : " list"}`);
    if (url.searchParams.get("watch")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      watches.push({ path: url.pathname, rv: url.searchParams.get("resourceVersion") ?? "", res });
      return;
    }
    const items = url.pathname === "/api/v1/services" ? services : url.pathname === "/api/v1/namespaces" ? [{ metadata: { name: "default", resourceVersion: "1" } }] : [];
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ metadata: { resourceVersion: "10" }, items }));
  });
  await new Promise<void>((r) => server.listen(0, IP, r));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  for (const w of watches) w.res.destroy();
  server.close();
});

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out: ${what}`);
};
const svcWatch = () => watches.filter((w) => w.path === "/api/v1/services").at(-1)!;

describe("coredns informers", () => {
  it("list, watch, resume and relist on 410", async () => {
    const model = new ClusterModel();
    const inf = startInformers({ server: `http://${IP}:${port}` }, model, { pods: false, log: () => undefined });
    try {
      await until(() => inf.synced(), "synced");
      expect(model.service("default", "a")?.clusterIPs).toEqual(["127.96.1.1"]);
      expect(model.hasNamespace("default")).toBe(true);
      await until(() => watches.some((w) => w.path === "/api/v1/services"), "a services watch");
      expect(svcWatch().rv).toBe("10");

      svcWatch().res.write(`${JSON.stringify({ type: "ADDED", object: svc("b", "127.96.1.2", "11") })}\n`);
      svcWatch().res.write(`${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "12" } } })}\n`);
      await until(() => model.service("default", "b") !== undefined, "b added");
      expect(model.serviceByClusterIP("127.96.1.2")?.name).toBe("b");

      // The stream ends (the server's timeout): the next watch starts at the bookmark's resourceVersion.
      const svcWatches = () => watches.filter((w) => w.path === "/api/v1/services").length;
      const before = svcWatches();
      svcWatch().res.end();
      await until(() => svcWatches() > before, "a new watch");
      expect(svcWatch().rv).toBe("12");

      svcWatch().res.write(`${JSON.stringify({ type: "DELETED", object: svc("a", "127.96.1.1", "13") })}\n`);
      await until(() => model.service("default", "a") === undefined, "a deleted");

      // 410: the list is read again; b is gone from it, c is new.
      services = [svc("c", "127.96.1.3", "20")];
      svcWatch().res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version: 13 (20)" } })}\n`);
      await until(() => model.service("default", "c") !== undefined, "c listed");
      expect(model.service("default", "b")).toBeUndefined();
      expect(requests.filter((r) => r === "/api/v1/services list").length).toBe(2);
    } finally {
      inf.stop();
    }
  });
});
