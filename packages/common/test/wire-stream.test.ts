import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { StatusError, type ServerStream } from "@kubemu/common";
import { newClient, rejectionOf, startServer, waitFor } from "./fixtures/wire-helpers.js";

/** A server stream "count" that sends from..to-1, optionally pausing to interleave. */
const counting = async (p: { from: number; to: number; yieldEvery?: number }, stream: ServerStream<number>) => {
  for (let i = p.from; i < p.to; i++) {
    await stream.send(i);
    if (p.yieldEvery && i % p.yieldEvery === 0) await new Promise((r) => setImmediate(r));
  }
};

describe("wire streams", () => {
  it("delivers every item once and in order, for any window and length (property)", async () => {
    const { server, url } = await startServer();
    server.handleStream("count", counting);
    const client = newClient([url]);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 50 }), async (n, window, yieldEvery) => {
        const got: number[] = [];
        for await (const x of client.stream<number>("count", { from: 0, to: n, yieldEvery }, { window })) got.push(x);
        expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 40 },
    );
  });

  it("runs many streams concurrently on one connection without mixing them", async () => {
    const { server, url } = await startServer();
    server.handleStream("count", counting);
    const client = newClient([url]);
    const collect = async (from: number) => {
      const got: number[] = [];
      for await (const x of client.stream<number>("count", { from, to: from + 300, yieldEvery: 7 }, { window: 8 })) got.push(x);
      return got;
    };
    const all = await Promise.all([0, 1000, 2000, 3000, 4000].map(collect));
    all.forEach((got, k) => expect(got).toEqual(Array.from({ length: 300 }, (_, i) => k * 1000 + i)));
  });

  it("backpressure bounds what the server has sent to the window while the client does not read", async () => {
    const { server, url } = await startServer();
    let sent = 0;
    server.handleStream("firehose", async (_p, stream: ServerStream<number>) => {
      for (let i = 0; i < 10_000; i++) {
        await stream.send(i);
        sent++;
      }
    });
    const client = newClient([url]);
    const window = 16;
    const s = client.stream<number>("firehose", {}, { window });
    const it = s[Symbol.asyncIterator]();
    await waitFor(() => sent >= window, 2000, "initial window");
    await new Promise((r) => setTimeout(r, 150));
    expect(sent).toBe(window);
    expect(s.buffered).toBe(window);
    // Read a few at a time: the server never gets further ahead than the window.
    let read = 0;
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 5; k++) {
        const r = await it.next();
        expect(r.value).toBe(read++);
      }
      await new Promise((r) => setTimeout(r, 5));
      expect(sent - read).toBeLessThanOrEqual(window);
      expect(s.buffered).toBeLessThanOrEqual(window);
    }
    await it.return!();
  });

  it("cancelling from the client (break) aborts the server handler", async () => {
    const { server, url } = await startServer();
    let serverError: unknown;
    let aborted = false;
    server.handleStream("forever", async (_p, stream: ServerStream<number>, ctx) => {
      ctx.signal.addEventListener("abort", () => (aborted = true));
      try {
        for (let i = 0; ; i++) await stream.send(i);
      } catch (e) {
        serverError = e;
        throw e;
      }
    });
    const client = newClient([url]);
    const got: number[] = [];
    for await (const x of client.stream<number>("forever", {}, { window: 4 })) {
      got.push(x);
      if (got.length === 10) break;
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await waitFor(() => aborted && serverError !== undefined, 2000, "server-side cancel");
    expect((serverError as StatusError).reason).toBe("Cancelled");
  });

  it("cancelling through an AbortSignal rejects the pending read with Cancelled", async () => {
    const { server, url } = await startServer();
    let aborted = false;
    server.handleStream("idle", (_p, _s, ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => {
      aborted = true;
      resolve();
    })));
    const client = newClient([url]);
    const ac = new AbortController();
    const s = client.stream("idle", {}, { signal: ac.signal });
    const next = s.next();
    setTimeout(() => ac.abort(), 50);
    const e = await rejectionOf(next);
    expect(e.status.reason).toBe("Cancelled");
    await waitFor(() => aborted, 2000, "server abort");
  });

  it("the server can end a stream early or fail it with a Status", async () => {
    const { server, url } = await startServer();
    server.handleStream("three", async (_p, s: ServerStream<string>) => {
      await s.send("a");
      await s.send("b");
      await s.send("c");
    });
    server.handleStream("gone", async (_p, s: ServerStream<number>) => {
      await s.send(1);
      throw new StatusError({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "too old resource version", reason: "Expired", code: 410 });
    });
    const client = newClient([url]);
    const got: string[] = [];
    for await (const x of client.stream<string>("three", null)) got.push(x);
    expect(got).toEqual(["a", "b", "c"]);

    const items: number[] = [];
    const e = await rejectionOf((async () => {
      for await (const x of client.stream<number>("gone", null)) items.push(x);
    })());
    expect(items).toEqual([1]);
    expect(e.status).toMatchObject({ reason: "Expired", code: 410, message: "too old resource version" });

    const e2 = await rejectionOf(client.stream("missing", null).next());
    expect(e2.status.reason).toBe("NotFound");
  });

  it("an oversized item rejects that send only", async () => {
    const { server, url } = await startServer({ maxFrameBytes: 32 * 1024 });
    let sendError: unknown;
    server.handleStream("mixed", async (_p, s: ServerStream<string>) => {
      await s.send("small");
      try {
        await s.send("z".repeat(64 * 1024));
      } catch (e) {
        sendError = e;
      }
      await s.send("after");
    });
    const client = newClient([url], { maxFrameBytes: 32 * 1024 });
    const got: string[] = [];
    for await (const x of client.stream<string>("mixed", null)) got.push(x);
    expect(got).toEqual(["small", "after"]);
    expect((sendError as StatusError).reason).toBe("RequestEntityTooLarge");
  });

  it("without resume, a lost connection fails the stream with a retriable ServiceUnavailable", async () => {
    const { server, url } = await startServer();
    server.handleStream("count", counting);
    const client = newClient([url]);
    const s = client.stream<number>("count", { from: 0, to: 1_000_000 }, { window: 4 });
    expect((await s.next()).value).toBe(0);
    await server.close();
    const e = await rejectionOf((async () => {
      for (;;) {
        const r = await s.next();
        if (r.done) return;
      }
    })());
    expect(e.status.reason).toBe("ServiceUnavailable");
  });

  it("with resume, re-opens from the last item after the connection drops", async () => {
    const { server, url } = await startServer();
    server.handleStream("count", counting);
    const client = newClient([url], { backoffInitialMs: 5 });
    const resumedFrom: (number | undefined)[] = [];
    const s = client.stream<number, { from: number; to: number }>("count", { from: 0, to: 500 }, {
      window: 8,
      resume: (last) => {
        resumedFrom.push(last);
        return { from: (last ?? -1) + 1, to: 500 };
      },
    });
    const got: number[] = [];
    const conns = () => (server as unknown as { connections: Set<{ close(c: number, r: string): void }> }).connections;
    for await (const x of s) {
      got.push(x);
      if (x === 100 || x === 300) for (const c of conns()) c.close(1001, "test drop");
    }
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(s.resumes).toBe(2);
    expect(resumedFrom.length).toBe(2);
  });
});

describe("wire stream send ordering", () => {
  it("concurrent send() calls keep their call order under backpressure", async () => {
    const { server, url } = await startServer();
    server.handleStream("burst", async (_p, stream: ServerStream<number>) => {
      // Misuse on purpose: 200 sends without awaiting each one.
      await Promise.all(Array.from({ length: 200 }, (_, i) => stream.send(i)));
    });
    const client = newClient([url]);
    const got: number[] = [];
    for await (const x of client.stream<number>("burst", null, { window: 3 })) {
      got.push(x);
      if (x % 17 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});
