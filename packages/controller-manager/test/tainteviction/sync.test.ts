/**
 * Taint-based eviction on a FakeClock over a FakeClient: untolerated NoExecute taints delete at
 * once, tolerationSeconds delay the deletion, removing the taint cancels it, the DisruptionTarget
 * condition and upstream's events, a pod replaced under the same name is spared.
 */
import { describe, expect, it } from "vitest";
import { FakeClock, Resources, newServiceUnavailable, type Lister } from "@kubemu/common";
import type { Taint, Toleration } from "kubernetes-types/core/v1.js";
import type { PodObject } from "../../src/controllers/node-util/conditions.js";
import type { NodeObject } from "../../src/controllers/node-util/taints.js";
import { TaintEviction } from "../../src/controllers/tainteviction/sync.js";
import { matchingTolerations, minTolerationTimeMs } from "../../src/controllers/tainteviction/tolerations.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";
import { T0, node, pod } from "../nodelifecycle/fixtures.js";

const UNREACHABLE: Taint = { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: "2026-01-01T00:00:00Z" };
const NOT_READY: Taint = { key: "node.kubernetes.io/not-ready", effect: "NoExecute", timeAdded: "2026-01-01T00:00:00Z" };
/** What DefaultTolerationSeconds admission adds (fast profile: 10 s). */
const DEFAULT_TOLERATIONS: Toleration[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
];

class Bed {
  readonly clock = new FakeClock(T0);
  readonly recorder = new FakeRecorder();
  readonly core: TaintEviction;

  constructor(readonly fake: FakeClient) {
    const f = fake;
    this.core = new TaintEviction({
      client: fake,
      listers: {
        get nodes(): Lister<NodeObject> {
          return f.indexer<NodeObject>(Resources.nodes);
        },
        get pods(): Lister<PodObject> {
          return f.indexer<PodObject>(Resources.pods);
        },
      },
      recorder: this.recorder,
      clock: this.clock,
    });
  }

  static of(nodes: NodeObject[], pods: PodObject[]): Bed {
    return new Bed(new FakeClient([{ resource: Resources.nodes, objects: nodes }, { resource: Resources.pods, objects: pods }]));
  }

  async taint(name: string, taints: Taint[]): Promise<void> {
    await this.fake.patch(Resources.nodes, undefined, name, "merge", { spec: { taints: taints.length ? taints : null } });
    this.core.handleNodeUpdate(name);
  }

  /** Moves virtual time and lets the deletions it fired finish. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  }

  pods(): string[] {
    return this.fake.objects<PodObject>(Resources.pods).map((p) => p.metadata.name!).sort();
  }
}

describe("taint eviction", () => {
  it("deletes pods that do not tolerate a NoExecute taint at once, with DisruptionTarget and TaintManagerEviction", async () => {
    const b = Bed.of([node("a"), node("b")], [pod("x", "a"), pod("y", "b"), pod("tolerant", "a", { tolerations: [{ operator: "Exists" }] })]);
    await b.taint("a", [{ key: "maintenance", effect: "NoExecute" }, { key: "gpu", effect: "NoSchedule" }]);
    await b.advance(0);
    expect(b.pods()).toEqual(["tolerant", "y"]);
    const patch = b.fake.writes().find((w) => w.verb === "patch" && w.resource === "pods")!;
    expect(patch).toMatchObject({ name: "x", subresource: "status", patchType: "strategic" });
    expect(patch.patch).toEqual({ metadata: { uid: "uid-x" }, status: { conditions: [{ type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager", message: "Taint manager: deleting due to NoExecute taint", lastTransitionTime: "2026-01-01T00:00:00Z" }] } });
    expect(b.fake.writes().find((w) => w.verb === "delete")).toMatchObject({ name: "x", options: { preconditions: { uid: "uid-x" } } });
    expect(b.recorder.lines()).toEqual(["Normal TaintManagerEviction Marking for deletion Pod default/x"]);
  });

  it("with tolerationSeconds the pod stays that long (DefaultTolerationSeconds: 10 s in the fast profile), then goes", async () => {
    const b = Bed.of([node("a")], [pod("web", "a", { tolerations: DEFAULT_TOLERATIONS })]);
    await b.taint("a", [UNREACHABLE]);
    await b.advance(9999);
    expect(b.pods()).toEqual(["web"]);
    expect(b.recorder.lines()).toEqual([]);
    await b.advance(1);
    expect(b.pods()).toEqual([]);
    expect(b.recorder.lines()).toEqual(["Normal TaintManagerEviction Marking for deletion Pod default/web"]);
  });

  it("the shortest tolerationSeconds of the tolerations used counts; no tolerationSeconds tolerates forever", async () => {
    const b = Bed.of(
      [node("a")],
      [
        pod("short", "a", { tolerations: [...DEFAULT_TOLERATIONS, { key: "flaky", operator: "Exists", effect: "NoExecute", tolerationSeconds: 3 }] }),
        pod("forever", "a", { tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" }, { key: "flaky", operator: "Exists" }] }),
      ],
    );
    await b.taint("a", [UNREACHABLE, { key: "flaky", effect: "NoExecute" }]);
    await b.advance(3000);
    expect(b.pods()).toEqual(["forever"]);
    await b.advance(600_000);
    expect(b.pods()).toEqual(["forever"]);
  });

  it("the taint going away before the time is up cancels the deletion (Cancelling deletion of Pod)", async () => {
    const b = Bed.of([node("a")], [pod("web", "a", { tolerations: DEFAULT_TOLERATIONS })]);
    await b.taint("a", [UNREACHABLE]);
    await b.advance(5000);
    await b.taint("a", []);
    await b.advance(60_000);
    expect(b.pods()).toEqual(["web"]);
    expect(b.recorder.lines()).toEqual(["Normal TaintManagerEviction Cancelling deletion of Pod default/web"]);
    expect(b.recorder.events[0]!.object).toBe("default/web");
  });

  it("a taint swap (not-ready → unreachable) keeps the deadline of the first taint", async () => {
    const b = Bed.of([node("a")], [pod("web", "a", { tolerations: DEFAULT_TOLERATIONS })]);
    await b.taint("a", [NOT_READY]);
    await b.advance(6000);
    await b.taint("a", [UNREACHABLE]);
    await b.advance(4000);
    expect(b.pods()).toEqual([]);
  });

  it("a pod bound to a tainted node later is judged from its bind", async () => {
    const b = Bed.of([node("a")], []);
    await b.taint("a", [UNREACHABLE]);
    await b.advance(30_000);
    await b.fake.create(Resources.pods, pod("late", "a", { tolerations: DEFAULT_TOLERATIONS }));
    b.core.handlePodUpdate("default/late");
    await b.advance(9000);
    expect(b.pods()).toEqual(["late"]);
    await b.advance(1000);
    expect(b.pods()).toEqual([]);
  });

  it("a pod deleted and made again under the same name (a StatefulSet's) is not deleted by the old pod's timer", async () => {
    const b = Bed.of([node("a"), node("b")], [pod("web-0", "a", { tolerations: DEFAULT_TOLERATIONS })]);
    await b.taint("a", [UNREACHABLE]);
    await b.advance(2000);
    await b.fake.delete(Resources.pods, "default", "web-0");
    const again = pod("web-0", "b", { tolerations: DEFAULT_TOLERATIONS });
    again.metadata.uid = "uid-web-0-second";
    await b.fake.create(Resources.pods, again);
    b.core.handlePodUpdate("default/web-0");
    await b.advance(20_000);
    expect(b.pods()).toEqual(["web-0"]);
  });

  it("a failing delete is retried (5 attempts, 10 ms apart)", async () => {
    const b = Bed.of([node("a")], [pod("x", "a")]);
    let failures = 2;
    b.fake.react((a) => (a.verb === "delete" && failures-- > 0 ? newServiceUnavailable("etcd is away") : undefined));
    await b.taint("a", [UNREACHABLE]);
    for (let i = 0; i < 5; i++) await b.advance(10);
    expect(b.pods()).toEqual([]);
    expect(b.fake.actions.filter((a) => a.verb === "delete")).toHaveLength(3);
  });

  it("node and pod update filters: only NoExecute taint changes, binds and toleration changes count", () => {
    const n = node("a");
    const withNoSchedule = node("a", { taints: [{ key: "x", effect: "NoSchedule" }] });
    const withNoExecute = node("a", { taints: [UNREACHABLE] });
    expect(TaintEviction.nodeNeedsSync(n, withNoSchedule)).toBe(false);
    expect(TaintEviction.nodeNeedsSync(n, withNoExecute)).toBe(true);
    const p = pod("x", "a");
    const relabelled = { ...p, metadata: { ...p.metadata, labels: { a: "b" } } };
    expect(TaintEviction.podNeedsSync(p, relabelled as PodObject)).toBe(false);
    expect(TaintEviction.podNeedsSync(p, pod("x", "b"))).toBe(true);
    expect(TaintEviction.podNeedsSync(p, pod("x", "a", { tolerations: DEFAULT_TOLERATIONS }))).toBe(true);
  });
});

describe("tolerations", () => {
  it("match every taint or none; minimum seconds, 0 for ≤ 0, -1 for forever", () => {
    expect(matchingTolerations([UNREACHABLE, NOT_READY], DEFAULT_TOLERATIONS)).toEqual({ allTolerated: true, used: [DEFAULT_TOLERATIONS[1], DEFAULT_TOLERATIONS[0]] });
    expect(matchingTolerations([UNREACHABLE, { key: "other", effect: "NoExecute" }], DEFAULT_TOLERATIONS)).toEqual({ allTolerated: false, used: [] });
    expect(minTolerationTimeMs([])).toBe(0);
    expect(minTolerationTimeMs([{ operator: "Exists" }])).toBe(-1);
    expect(minTolerationTimeMs([{ operator: "Exists", tolerationSeconds: 0 }, { operator: "Exists", tolerationSeconds: 5 }])).toBe(0);
    expect(minTolerationTimeMs([{ operator: "Exists", tolerationSeconds: 7 }, { operator: "Exists", tolerationSeconds: 5 }])).toBe(5000);
  });
});
