import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock, SeededRng } from "@kubemu/common";
import { ImageCatalog } from "@kubemu/images";
import { StatusWriter } from "../src/pod/status-writer.js";
import { ImageManager } from "../src/runtime/image-manager.js";
import { Backoff } from "../src/pod/backoff.js";
import { writeAtomically } from "../src/volumes/atomic-writer.js";

/** A write the test finishes by hand. */
function manualWrites() {
  const started: string[] = [];
  const finish: (() => void)[] = [];
  const write = (s: string) => {
    started.push(s);
    return new Promise<void>((r) => finish.push(r));
  };
  return { started, finish, write };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("StatusWriter (the pod's status off the worker's path)", () => {
  it("starts the first write at once and writes only the newest of those handed over meanwhile", async () => {
    const w = manualWrites();
    const writer = new StatusWriter<string>(w.write, () => undefined);
    const done: string[] = [];
    void writer.set("Pending").then(() => done.push("Pending"));
    expect(w.started).toEqual(["Pending"]);
    void writer.set("ContainerCreating").then(() => done.push("ContainerCreating"));
    void writer.set("Running").then(() => done.push("Running"));
    await tick();
    expect(w.started).toEqual(["Pending"]);
    w.finish[0]!();
    await tick();
    // The replaced status is settled together with the one that replaced it.
    expect(w.started).toEqual(["Pending", "Running"]);
    expect(done).toEqual(["Pending"]);
    w.finish[1]!();
    await writer.flush();
    await tick();
    expect(done).toEqual(["Pending", "ContainerCreating", "Running"]);
  });

  it("flush waits for everything handed over; a failed write is reported and the next still goes", async () => {
    const errors: unknown[] = [];
    const written: string[] = [];
    let fail = true;
    const writer = new StatusWriter<string>(
      async (s) => {
        if (fail) {
          fail = false;
          throw new Error("boom");
        }
        written.push(s);
      },
      (e) => errors.push(e),
    );
    await expect(writer.flush()).resolves.toBeUndefined();
    void writer.set("a");
    void writer.set("b");
    await writer.flush();
    expect(errors).toHaveLength(1);
    expect(written).toEqual(["b"]);
    void writer.set("c");
    await writer.flush();
    expect(written).toEqual(["b", "c"]);
  });
});

describe("ImageManager: pods queued behind the first pull of an image", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("find it present when their turn comes, with no second simulated pull", async () => {
    dir = mkdtempSync(join(tmpdir(), "kubemu-images-"));
    const clock = new FakeClock(1_000_000);
    const images = new ImageManager({ catalog: () => ImageCatalog.withUserFile(undefined), clock, rng: new SeededRng(1), pullMinMs: 100, pullMaxMs: 100, backoff: new Backoff(1000, 30_000), stateFile: join(dir, "images.json"), hostPath: process.env.PATH ?? "" });
    const events: string[][] = [[], [], []];
    const pulls = [0, 1, 2].map((i) => images.ensure(`uid-${i}`, { name: "pause", image: "registry.k8s.io/pause:3.10" }, (_t, reason, msg) => events[i]!.push(`${reason}: ${msg}`)));
    await tick();
    // One timer for all three: the first pod's pull.
    clock.advance(100);
    const results = await Promise.all(pulls);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(events[0]).toEqual(['Pulling: Pulling image "registry.k8s.io/pause:3.10"', expect.stringMatching(/^Pulled: Successfully pulled image "registry.k8s.io\/pause:3.10" in 100ms \(100ms including waiting\)/)]);
    expect(events[2]).toEqual(['Pulling: Pulling image "registry.k8s.io/pause:3.10"', expect.stringMatching(/^Pulled: Successfully pulled image "registry.k8s.io\/pause:3.10" in 0s \(100ms including waiting\)/)]);
    // The next pod with IfNotPresent does not pull at all.
    const later: string[] = [];
    await images.ensure("uid-3", { name: "pause", image: "registry.k8s.io/pause:3.10" }, (_t, reason, msg) => later.push(`${reason}: ${msg}`));
    expect(later).toEqual(['Pulled: Container image "registry.k8s.io/pause:3.10" already present on machine']);
  });
});

describe("writeAtomically (asynchronous file system calls)", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes through ..data, leaves an unchanged payload alone, swaps an update in and drops the old set", async () => {
    dir = mkdtempSync(join(tmpdir(), "kubemu-atomic-"));
    const vol = join(dir, "vol");
    const p1 = { token: { data: Buffer.from("t1"), mode: 0o644 }, "sub/ca.crt": { data: Buffer.from("ca"), mode: 0o600 } };
    expect(await writeAtomically(vol, p1, new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), 1)).toBe(true);
    const first = readlinkSync(join(vol, "..data"));
    expect(first).toBe("..2026_01_02_03_04_05.000000001");
    expect(readFileSync(join(vol, "token"), "utf8")).toBe("t1");
    expect(readFileSync(join(vol, "sub", "ca.crt"), "utf8")).toBe("ca");
    expect(statSync(join(vol, "sub", "ca.crt")).mode & 0o777).toBe(0o600);
    expect(await writeAtomically(vol, p1, new Date(Date.UTC(2026, 0, 2, 3, 4, 6)), 0)).toBe(false);
    expect(await writeAtomically(vol, { token: { data: Buffer.from("t2"), mode: 0o644 } }, new Date(Date.UTC(2026, 0, 2, 3, 4, 7)), 0)).toBe(true);
    expect(readFileSync(join(vol, "token"), "utf8")).toBe("t2");
    expect(readdirSync(vol).sort()).toEqual(["..2026_01_02_03_04_07.000000000", "..data", "token"]);
    await expect(writeAtomically(vol, { "../escape": { data: Buffer.from("x"), mode: 0o644 } })).rejects.toThrow('invalid path "../escape"');
  });
});
