/** The shared descriptor helpers: informers created for the standby and for the run, the queue loop, disabled controllers. */
import { describe, expect, it } from "vitest";
import { FakeClock, silentLogger } from "@kubemu/common";
import type { ControllerContext } from "../../src/controller/context.js";
import { queueControllerDescriptor, withQueue } from "../../src/controller/descriptor.js";

function context() {
  const created: string[] = [];
  const ctx = {
    informers: {
      informerFor: (ref: { resource: string }) => created.push(ref.resource),
      waitForCacheSync: async () => true,
    },
    clock: new FakeClock(0),
    logger: silentLogger,
  } as unknown as ControllerContext;
  return { ctx, created };
}

describe("queueControllerDescriptor", () => {
  it("creates the informers for the standby, and at run builds the controller over them and works its queue until aborted", async () => {
    const { ctx, created } = context();
    const reconciled: string[] = [];
    let removed = 0;
    const abort = new AbortController();
    const d = queueControllerDescriptor({
      name: "example-controller",
      aliases: ["example"],
      informers: (c) => ({ things: c.informers.informerFor({ resource: "things" } as never) }),
      controller: (_c, inf) =>
        withQueue({ name: "example", workers: 2 }, (queue) => {
          expect(inf.things).toBe(2); // the run's own informerFor call (the second)
          queue.add("ns/a");
          return {
            reconcile: async (key) => {
              reconciled.push(key);
              abort.abort();
            },
            handlers: [{ remove: () => void removed++ }],
          };
        }),
    });
    expect(d).toMatchObject({ name: "example-controller", aliases: ["example"] });
    expect(d.disabledByDefault).toBeUndefined();
    d.informers(ctx);
    expect(created).toEqual(["things"]);
    await d.run(ctx, abort.signal);
    expect(created).toEqual(["things", "things"]);
    expect(reconciled).toEqual(["ns/a"]);
    expect(removed).toBe(1);
  });

  it("a controller that cannot run (undefined) holds until the term ends", async () => {
    const { ctx } = context();
    const abort = new AbortController();
    const d = queueControllerDescriptor({ name: "x-controller", aliases: [], disabledByDefault: true, informers: () => ({}), controller: () => undefined });
    expect(d.disabledByDefault).toBe(true);
    let done = false;
    const run = d.run(ctx, abort.signal).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    abort.abort();
    await run;
    expect(done).toBe(true);
  });

  it("withQueue refuses a reconcile before its queue exists", async () => {
    const c = withQueue({ name: "q", workers: 1 }, () => ({ reconcile: async () => undefined, handlers: [] }));
    await expect(c.reconcile("k")).rejects.toThrow("controller q: used before its queue was registered");
  });
});
