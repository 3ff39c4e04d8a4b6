import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpComponentStatus } from "../../src/component-status.js";

let server: Server;
let url = "";

beforeAll(async () => {
  server = createServer((req, res) => (req.url === "/healthz" ? res.end("ok") : res.writeHead(500).end("bad")));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe("componentstatuses", () => {
  it("is Healthy when any replica answers, Unhealthy with the probe's error otherwise", async () => {
    const probe = httpComponentStatus([
      { name: "scheduler", urls: ["http://127.0.0.1:1/healthz", `${url}/healthz`] },
      { name: "controller-manager", urls: [`${url}/broken`] },
      { name: "etcd-0", urls: ["http://127.0.0.1:1/health"] },
    ]);
    const items = await probe();
    expect(items.map((i) => [i.metadata.name, (i.conditions as any)[0].status])).toEqual([
      ["scheduler", "True"],
      ["controller-manager", "False"],
      ["etcd-0", "False"],
    ]);
    expect((items[0]!.conditions as any)[0].message).toBe("ok");
    expect((items[1]!.conditions as any)[0].error).toBe("HTTP probe failed with statuscode: 500");
    expect((items[2]!.conditions as any)[0].error).toMatch(/^Get "http:\/\/127\.0\.0\.1:1\/health": ./);
  });
});
