import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteAddons, replaceAddons } from "../src/addons/apply.js";
import type { Addon } from "../src/addons/local-path-storage.js";

// A fake API server on 127.1.174.1 that stores objects by path and logs each request.
const objects = new Map<string, Record<string, unknown>>();
const requests: string[] = [];
let server: Server;
let url = "";

beforeAll(async () => {
  let rv = 100;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, any>) : undefined;
      requests.push(`${req.method} ${req.url}${body?.metadata?.resourceVersion ? ` rv=${body.metadata.resourceVersion}` : ""}`);
      const send = (code: number, obj: unknown) => res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(obj));
      const path = req.url!;
      if (req.method === "GET") return objects.has(path) ? send(200, objects.get(path)) : send(404, { kind: "Status", code: 404 });
      if (req.method === "DELETE") return objects.delete(path) ? send(200, {}) : send(404, { kind: "Status", code: 404 });
      const key = req.method === "POST" ? `${path}/${body!.metadata.name}` : path;
      if (req.method === "POST" && objects.has(key)) return send(409, { kind: "Status", code: 409 });
      if (req.method === "PUT" && objects.get(key)?.metadata && (objects.get(key)!.metadata as { resourceVersion: string }).resourceVersion !== body!.metadata.resourceVersion) return send(409, { kind: "Status", code: 409 });
      const stored = { ...body, metadata: { ...body!.metadata, resourceVersion: String(++rv) } };
      objects.set(key, stored);
      send(req.method === "POST" ? 201 : 200, stored);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.1.174.1", () => r()));
  url = `http://127.1.174.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const cm = (config: string): Addon => ({ path: "/api/v1/namespaces/metallb-system/configmaps", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "config", namespace: "metallb-system" }, data: { config } } });
const ns: Addon = { path: "/api/v1/namespaces", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: "metallb-system" } } };

describe("replaceAddons / deleteAddons", () => {
  it("creates a missing object, PUTs an existing one with its resourceVersion, deletes last-first and ignores what is gone", async () => {
    expect(await replaceAddons(url, undefined, [cm("a")])).toEqual([]);
    expect(await replaceAddons(url, undefined, [cm("b")])).toEqual([]);
    expect(objects.get("/api/v1/namespaces/metallb-system/configmaps/config")).toMatchObject({ data: { config: "b" } });
    expect(requests).toEqual([
      "GET /api/v1/namespaces/metallb-system/configmaps/config",
      "POST /api/v1/namespaces/metallb-system/configmaps",
      "GET /api/v1/namespaces/metallb-system/configmaps/config",
      "PUT /api/v1/namespaces/metallb-system/configmaps/config rv=101",
    ]);
    requests.length = 0;
    expect(await deleteAddons(url, undefined, [ns, cm("b")])).toEqual([]);
    expect(requests).toEqual(["DELETE /api/v1/namespaces/metallb-system/configmaps/config", "DELETE /api/v1/namespaces/metallb-system"]);
    expect(objects.size).toBe(0);
  });

  it("reports an unreachable server per object", async () => {
    const failed = await deleteAddons("http://127.1.174.2:1", undefined, [cm("x")]);
    expect(failed).toEqual([expect.stringMatching(/^configmap\/config: 0 connect ECONNREFUSED/)]);
  });
});
