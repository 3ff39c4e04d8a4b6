/**
 * EtcdClient against a scripted in-process WireServer: which failures it retries (reads: any
 * transient error; writes: only errors proving non-execution), and how its watch resumes from
 * the last delivered revision without duplicates.
 */
import { newServiceUnavailable, newInternalError, WireServer, type ServerStream } from "@kubemu/common";
import { afterEach, describe, expect, it } from "vitest";
import { compactedError, compactRevisionOf, EtcdClient, Method, notProposed, type WatchItem, type WatchParams } from "../../src/index.js";

let server: WireServer | undefined;
let client: EtcdClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function start(setup: (s: WireServer) => void): Promise<EtcdClient> {
  server = new WireServer({ name: "fake-etcd" });
  setup(server);
  const addr = await server.listen({ host: "127.0.0.1", port: 0 });
  client = new EtcdClient({ endpoints: [addr.url], requestTimeoutMs: 3000 });
  return client;
}

const putResult = { header: { revision: 9 } };

describe("EtcdClient retry policy", () => {
  it("retries a write refused before it was proposed", async () => {
    let calls = 0;
    const c = await start((s) =>
      s.handle(Method.put, () => {
        if (++calls < 3) throw notProposed("no leader elected yet");
        return putResult;
      }),
    );
    await expect(c.put("k", "v")).resolves.toEqual(putResult);
    expect(calls).toBe(3);
  });

  it("does not retry a write whose outcome is unknown", async () => {
    let calls = 0;
    const c = await start((s) =>
      s.handle(Method.put, () => {
        calls++;
        throw newServiceUnavailable("lost track of it");
      }),
    );
    await expect(c.put("k", "v")).rejects.toMatchObject({ reason: "ServiceUnavailable" });
    expect(calls).toBe(1);
  });

  it("retries reads on transient errors but not on other errors", async () => {
    let calls = 0;
    const c = await start((s) => {
      s.handle(Method.range, () => {
        if (++calls < 3) throw newServiceUnavailable("read index timed out");
        return { header: { revision: 3 }, kvs: [], count: 0, more: false, memberId: 1, raftTerm: 2 };
      });
      s.handle(Method.status, () => {
        throw newInternalError("boom");
      });
    });
    expect(await c.get("k")).toBeUndefined();
    expect(calls).toBe(3);
    await expect(c.status()).rejects.toMatchObject({ reason: "InternalError" });
  });
});

describe("EtcdClient failover", () => {
  it("leaves a member that keeps saying it has no leader for another endpoint", async () => {
    const cut = new WireServer({ name: "cut-off" });
    cut.handle(Method.put, () => {
      throw notProposed("no leader elected yet");
    });
    const ok = new WireServer({ name: "healthy" });
    let served = 0;
    ok.handle(Method.put, () => {
      served++;
      return putResult;
    });
    const a = await cut.listen({ host: "127.0.0.1", port: 0 });
    const b = await ok.listen({ host: "127.0.0.1", port: 0 });
    const c = new EtcdClient({ endpoints: [a.url, b.url], requestTimeoutMs: 5000 });
    try {
      await expect(c.put("k", "v")).resolves.toEqual(putResult);
      expect(served).toBe(1);
      expect(c.connection.endpoint).toBe(b.url);
    } finally {
      await c.close();
      await cut.close();
      await ok.close();
    }
  });
});

describe("EtcdWatch", () => {
  it("re-opens after a retriable end from the last delivered revision + 1 and drops duplicates", async () => {
    const opened: (number | undefined)[] = [];
    const c = await start((s) =>
      s.handleStream(Method.watch, async (p: WatchParams, stream: ServerStream<WatchItem>) => {
        opened.push(p.startRevision);
        const ev = (rev: number) => ({ kind: "events" as const, revision: rev, events: [{ type: "PUT" as const, kv: { key: Buffer.from("k"), value: Buffer.from(String(rev)), createRevision: 2, modRevision: rev, version: 1, lease: 0 } }] });
        if (opened.length === 1) {
          await stream.send({ kind: "created", revision: 5 });
          await stream.send(ev(6));
          await stream.send(ev(7));
          throw notProposed("member replaced its state; resume");
        }
        await stream.send({ kind: "created", revision: (p.startRevision ?? 1) - 1 });
        await stream.send(ev(7)); // a replay of what was already delivered
        await stream.send({ kind: "progress", revision: 7 });
        await stream.send(ev(8));
        await stream.send(ev(9));
        await new Promise((r) => setTimeout(r, 5000));
      }),
    );
    const w = c.watch("k");
    const revs: number[] = [];
    for await (const r of w) {
      revs.push(r.revision);
      if (revs.length === 4) break;
    }
    expect(revs).toEqual([6, 7, 8, 9]);
    expect(opened).toEqual([undefined, 8]);
    expect(w.lastRevision).toBe(9);
  });

  it("ends with an Expired error carrying the compact revision", async () => {
    const c = await start((s) =>
      s.handleStream(Method.watch, () => {
        throw compactedError(42);
      }),
    );
    const err = await (async () => {
      for await (const _ of c.watch("k", { startRevision: 3 })) void _;
    })().catch((e: unknown) => e);
    expect(compactRevisionOf(err)).toBe(42);
  });
});
