import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { announceOrder, shouldAnnounce, usableNodes } from "../src/metallb/election.js";
import { MetallbSpeaker } from "../src/metallb/speaker.js";
import type { Api, Endpoints, Service } from "../src/metallb/types.js";

const eps = (ready: [string, string][], notReady: [string, string][] = []): Endpoints => ({
  metadata: { name: "my-service", namespace: "default", resourceVersion: "1" },
  subsets: [{ addresses: ready.map(([ip, nodeName]) => ({ ip, nodeName })), notReadyAddresses: notReady.map(([ip, nodeName]) => ({ ip, nodeName })) }],
});

describe("layer2 election (metallb 0.9)", () => {
  it("counts only nodes with a ready endpoint", () => {
    expect(usableNodes(eps([["10.0.0.1", "n1"], ["10.0.0.2", "n1"]], [["10.0.0.3", "n2"]]))).toEqual(["n1"]);
    expect(usableNodes(undefined)).toEqual([]);
    expect(usableNodes(eps([["10.0.0.1", "n1"], ["10.0.0.2", "n2"]]), new Set(["n2"]))).toEqual(["n2"]);
  });

  it("orders nodes by sha256(node#namespace/name), the same on every speaker", () => {
    const h = (n: string) => createHash("sha256").update(`${n}#default/my-service`).digest("hex");
    const nodes = ["kubemu", "kubemu-m02", "kubemu-m03"];
    const expected = [...nodes].sort((a, b) => (h(a) < h(b) ? -1 : 1));
    expect(announceOrder("default/my-service", nodes)).toEqual(expected);
    expect(announceOrder("default/my-service", [...nodes].reverse())).toEqual(expected);
    const e = eps(nodes.map((n, i) => [`10.0.0.${i}`, n]));
    expect(nodes.filter((n) => shouldAnnounce(n, "default/my-service", e) === "")).toEqual([expected[0]]);
    // The winner's endpoints go not-ready: the next in order takes over.
    const rest = eps(nodes.filter((n) => n !== expected[0]).map((n, i) => [`10.0.1.${i}`, n]));
    expect(nodes.filter((n) => shouldAnnounce(n, "default/my-service", rest) === "")).toEqual([expected[1]]);
  });
});

/** An API of fixed objects that records what is written. */
function fakeApi(objects: { services: Service[]; endpoints: Endpoints[]; config?: string }) {
  const posted: { path: string; body: Record<string, unknown> }[] = [];
  const put: { path: string; body: Record<string, unknown> }[] = [];
  const api: Api = {
    get: async <T>(path: string) => {
      if (path === "/api/v1/services") return { items: objects.services } as T;
      if (path === "/api/v1/endpoints") return { items: objects.endpoints } as T;
      if (path === "/api/v1/namespaces/metallb-system/configmaps/config") {
        if (objects.config === undefined) throw Object.assign(new Error("not found"), { code: 404 });
        return { metadata: { name: "config" }, data: { config: objects.config } } as T;
      }
      throw new Error(`unexpected GET ${path}`);
    },
    post: async <T>(path: string, body: unknown) => (posted.push({ path, body: body as Record<string, unknown> }), body as T),
    put: async <T>(path: string) => Promise.reject<T>(new Error(`unexpected PUT ${path}`)),
    patch: async <T>(path: string, body: unknown) => (put.push({ path, body: body as Record<string, unknown> }), body as T),
  };
  return { api, posted, put };
}

describe("MetallbSpeaker", () => {
  const lb: Service = {
    metadata: { name: "my-service", namespace: "default", uid: "u1", resourceVersion: "5" },
    spec: { type: "LoadBalancer", clusterIP: "127.96.0.20", ports: [{ port: 8080 }] },
    status: { loadBalancer: { ingress: [{ ip: "127.240.1.100" }] } },
  };
  const config = "address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 127.240.1.100-127.240.1.100\n";

  it("only the winner records nodeAssigned, again on each change, aggregated into one event", async () => {
    const objects = { services: [lb], endpoints: [eps([["127.231.1.5", "n1"], ["127.231.2.5", "n2"]])], config };
    const winner = announceOrder("default/my-service", ["n1", "n2"])[0]!;
    const loser = winner === "n1" ? "n2" : "n1";
    const w = fakeApi(objects);
    const l = fakeApi(objects);
    const mk = (node: string, api: Api) => new MetallbSpeaker({ api, node, namespace: "metallb-system", configMapName: "config", log: () => undefined, now: () => new Date("2026-12-03T18:00:00Z") });
    const ws = mk(winner, w.api);
    const ls = mk(loser, l.api);
    await ws.tick();
    await ls.tick();
    expect(w.posted).toHaveLength(1);
    expect(w.posted[0]!.body).toMatchObject({ reason: "nodeAssigned", message: `announcing from node "${winner}"`, type: "Normal", source: { component: "metallb-speaker", host: winner }, count: 1, involvedObject: { kind: "Service", name: "my-service", uid: "u1" } });
    expect(l.posted).toEqual([]);
    expect(ws.metrics()).toContain(`metallb_speaker_announced{ip="127.240.1.100",node="${winner}",protocol="layer2",service="default/my-service"} 1`);
    await ws.tick(); // nothing changed: no new event
    expect(w.put).toHaveLength(0);
    objects.endpoints = [{ ...eps([["127.231.1.5", "n1"], ["127.231.2.5", "n2"]]), metadata: { name: "my-service", namespace: "default", resourceVersion: "2" } }];
    await ws.tick();
    expect(w.put).toHaveLength(1);
    expect(w.put[0]!.path).toBe(`/api/v1/namespaces/default/events/${(w.posted[0]!.body.metadata as { name: string }).name}`);
    expect(w.put[0]!.body).toEqual({ count: 2, lastTimestamp: "2026-12-03T18:00:00Z" });
    // The winner's endpoints are no longer ready: the other speaker takes over, the winner withdraws.
    const rest = eps([["127.231.2.5", loser]], [["127.231.1.5", winner]]);
    objects.endpoints = [{ ...rest, metadata: { ...rest.metadata, resourceVersion: "3" } }];
    await ws.tick();
    await ls.tick();
    expect(ws.announced.size).toBe(0);
    expect(l.posted.map((p) => p.body.message)).toEqual([`announcing from node "${loser}"`]);
  });

  it("announces nothing without a valid config (minikube's `- -` pool)", async () => {
    const f = fakeApi({ services: [lb], endpoints: [eps([["127.231.1.5", "n1"]])], config: "address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - -\n" });
    const s = new MetallbSpeaker({ api: f.api, node: "n1", namespace: "metallb-system", configMapName: "config", log: () => undefined, now: () => new Date() });
    await s.tick();
    expect(f.posted).toEqual([]);
  });
});
