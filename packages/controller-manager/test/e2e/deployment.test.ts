/**
 * deployment-controller against real processes (store, API servers, a controller-manager running
 * the deployment and replicaset controllers) driven by the real kubectl, as the seed notes use
 * Deployments: create, set image, rollout status / history / undo / pause / resume / restart,
 * scale, Recreate, minReadySeconds, and a rollout stuck past progressDeadlineSeconds.
 *
 * There is no kubelet yet: a loop in this file plays it — every pod is bound, Running and Ready
 * soon after it appears (except pods of the image "nginx:broken", which never get Ready), and
 * pods being deleted are removed at once.
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.14", api: "127.1.15", scheduler: "127.1.16", manager: "127.1.17" }, { controllers: "deployment-controller,replicaset-controller" });
const NS = "default";
const BROKEN = "nginx:broken";

type Pod = KubeObject & { spec: { containers: { image: string }[] }; status?: { conditions?: { type: string; status: string }[] } };

/** Plays the kubelet until stopped. */
function startKubelet(): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const pods = (await h.client.list<Pod>(Resources.pods, { namespace: NS })).items;
        await Promise.all(
          pods.map(async (p) => {
            if (p.metadata.deletionTimestamp) return h.client.delete(Resources.pods, NS, p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
            const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
            if (ready || p.spec.containers.some((c) => c.image === BROKEN)) return;
            return h.markRunningReady(NS, p.metadata.name!).catch(() => undefined);
          }),
        );
      } catch {
        // The next round tries again.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

let stopKubelet: (() => Promise<void>) | undefined;
useCluster(h, { nodes: ["kubemu"], afterStart: () => void (stopKubelet = startKubelet()), beforeStop: () => stopKubelet?.() });

const kubectl = (...args: string[]) => h.kubectl.ok(args);
const rolloutStatus = (name: string) => h.kubectl.ok(["rollout", "status", `deployment/${name}`, "--timeout=90s"]);
const jsonpath = (name: string, path: string) => kubectl("get", "deployment", name, "-o", `jsonpath={${path}}`);

async function replicaSets(selector: string): Promise<{ name: string; replicas: number; image: string; revision: string }[]> {
  const out = await kubectl("get", "rs", "-l", selector, "-o", 'jsonpath={range .items[*]}{.metadata.name} {.spec.replicas} {.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}{"\\n"}{end}');
  return out
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [name, replicas, image, revision] = l.split(" ");
      return { name: name!, replicas: Number(replicas), image: image!, revision: revision! };
    });
}

describe("deployment-controller with kubectl", () => {
  it("create → set image → rollout status / history with change-cause / undo --to-revision / describe", async () => {
    expect(await kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=3")).toContain("deployment.apps/web created");
    expect(await rolloutStatus("web")).toContain('deployment "web" successfully rolled out');
    await kubectl("annotate", "deployment/web", "kubernetes.io/change-cause=create nginx:1.25");

    await kubectl("set", "image", "deployment/web", "nginx=nginx:1.26");
    await kubectl("annotate", "--overwrite", "deployment/web", "kubernetes.io/change-cause=image 1.26");
    expect(await rolloutStatus("web")).toContain('deployment "web" successfully rolled out');
    const rss = await eventually(() => replicaSets("app=web"), (l) => l.length === 2 && l.some((r) => r.image === "nginx:1.25" && r.replicas === 0), "old ReplicaSet scaled to 0", 40_000);
    expect(rss.find((r) => r.image === "nginx:1.26")).toMatchObject({ replicas: 3, revision: "2" });
    expect(rss.find((r) => r.image === "nginx:1.25")?.revision).toBe("1");

    const history = await eventually(() => kubectl("rollout", "history", "deployment/web"), (o) => o.includes("image 1.26"), "change-cause on revision 2", 30_000);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+create nginx:1.25\n2\s+image 1.26/);
    const rev1 = await kubectl("rollout", "history", "deployment/web", "--revision=1");
    expect(rev1).toContain("revision #1");
    expect(rev1).toMatch(/Image:\s+nginx:1.25/);
    expect(rev1).toMatch(/pod-template-hash=/);

    expect(await kubectl("rollout", "undo", "deployment/web", "--to-revision=1")).toContain("deployment.apps/web rolled back");
    expect(await rolloutStatus("web")).toContain('deployment "web" successfully rolled out');
    expect(await jsonpath("web", ".spec.template.spec.containers[0].image")).toBe("nginx:1.25");
    const after = await eventually(() => kubectl("rollout", "history", "deployment/web"), (o) => /\n3\s+create nginx:1.25/.test(o), "revision 3 = the old template", 30_000);
    expect(after).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+image 1.26\n3\s+create nginx:1.25/);
    expect(await jsonpath("web", ".metadata.annotations.deployment\\.kubernetes\\.io/revision")).toBe("3");

    const byImage = Object.fromEntries((await replicaSets("app=web")).map((r) => [r.image, r.name]));
    const newRS = byImage["nginx:1.25"]!;
    // maxSurge 1 (25% of 3 rounded up), maxUnavailable 0: one pod at a time, the last step takes the old ReplicaSet from 1 to 0.
    const described = await eventually(() => kubectl("describe", "deployment", "web"), (o) => o.includes(`Scaled down replica set ${byImage["nginx:1.26"]} from 1 to 0`), "describe shows the last scale-down", 30_000);
    expect(described).toMatch(/Available\s+True\s+MinimumReplicasAvailable/);
    expect(described).toMatch(/Progressing\s+True\s+NewReplicaSetAvailable/);
    expect(described).toContain(`NewReplicaSet:   ${newRS} (3/3 replicas created)`);
    expect(described).toMatch(new RegExp(`Normal\\s+ScalingReplicaSet\\s+.*deployment-controller\\s+Scaled up replica set ${newRS} from 0 to 3`));
    expect(await kubectl("get", "deployment", "web")).toMatch(/web\s+3\/3\s+3\s+3\s+/);
  }, 240_000);

  it("scale, rollout pause (no rollout, scaling still works) and resume, rollout restart", async () => {
    await kubectl("scale", "deployment/web", "--replicas=5");
    expect(await rolloutStatus("web")).toContain("successfully rolled out");
    expect(await jsonpath("web", ".status.availableReplicas")).toBe("5");

    expect(await kubectl("rollout", "pause", "deployment/web")).toContain("deployment.apps/web paused");
    await kubectl("set", "image", "deployment/web", "nginx=nginx:1.27");
    await eventually(() => jsonpath("web", '.status.conditions[?(@.type=="Progressing")].reason'), (r) => r === "DeploymentPaused", "Progressing DeploymentPaused", 30_000);
    await kubectl("scale", "deployment/web", "--replicas=4");
    await eventually(() => replicaSets("app=web"), (l) => l.some((r) => r.image === "nginx:1.25" && r.replicas === 4), "paused Deployment scaled", 30_000);
    expect((await replicaSets("app=web")).some((r) => r.image === "nginx:1.27")).toBe(false);

    expect(await kubectl("rollout", "resume", "deployment/web")).toContain("deployment.apps/web resumed");
    expect(await rolloutStatus("web")).toContain("successfully rolled out");
    const rss = await eventually(() => replicaSets("app=web"), (l) => l.some((r) => r.image === "nginx:1.27" && r.replicas === 4) && l.filter((r) => r.replicas > 0).length === 1, "resumed rollout done", 40_000);
    expect(rss.find((r) => r.image === "nginx:1.27")?.revision).toBe("4");

    expect(await kubectl("rollout", "restart", "deployment/web")).toContain("deployment.apps/web restarted");
    expect(await rolloutStatus("web")).toContain("successfully rolled out");
    const restarted = await eventually(() => replicaSets("app=web"), (l) => l.some((r) => r.revision === "5" && r.replicas === 4), "restart rolled out revision 5", 40_000);
    expect(restarted.filter((r) => r.replicas > 0)).toHaveLength(1);
  }, 240_000);

  it("Recreate scales the old ReplicaSet down before the new one comes up", async () => {
    await kubectl("create", "deployment", "rec", "--image=nginx:1.25", "--replicas=2");
    await kubectl("patch", "deployment", "rec", "--type=merge", "-p", '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}');
    expect(await rolloutStatus("rec")).toContain("successfully rolled out");
    await kubectl("set", "image", "deployment/rec", "nginx=nginx:1.26");
    expect(await rolloutStatus("rec")).toContain("successfully rolled out");
    const rss = await eventually(() => replicaSets("app=rec"), (l) => l.length === 2 && l.some((r) => r.image === "nginx:1.26" && r.replicas === 2), "new ReplicaSet up", 40_000);
    const oldName = rss.find((r) => r.image === "nginx:1.25")!.name;
    const newName = rss.find((r) => r.image === "nginx:1.26")!.name;
    const events = await eventually(
      () => kubectl("get", "events", "--field-selector", "involvedObject.name=rec,reason=ScalingReplicaSet", "--sort-by=.metadata.creationTimestamp", "-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}"),
      (o) => o.includes(`Scaled up replica set ${newName} from 0 to 2`),
      "Recreate's events",
      30_000,
    );
    const lines = events.trim().split("\n");
    expect(lines.indexOf(`Scaled down replica set ${oldName} from 2 to 0`)).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf(`Scaled down replica set ${oldName} from 2 to 0`)).toBeLessThan(lines.indexOf(`Scaled up replica set ${newName} from 0 to 2`));
  }, 240_000);

  it("minReadySeconds holds each step until the new pod has been Ready that long", async () => {
    await kubectl("create", "deployment", "slow", "--image=nginx:1.25");
    expect(await rolloutStatus("slow")).toContain("successfully rolled out");
    await kubectl("patch", "deployment", "slow", "--type=merge", "-p", '{"spec":{"minReadySeconds":3}}');
    const started = Date.now();
    await kubectl("set", "image", "deployment/slow", "nginx=nginx:1.26");
    expect(await rolloutStatus("slow")).toContain("successfully rolled out");
    // Ready times are whole seconds, so a pod may count as available up to a second early.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const rss = await replicaSets("app=slow");
    const fresh = rss.find((r) => r.image === "nginx:1.26")!;
    expect(await kubectl("get", "rs", fresh.name, "-o", "jsonpath={.spec.minReadySeconds}")).toBe("3");
  }, 120_000);

  it("a rollout whose pods never get Ready ends in ProgressDeadlineExceeded and rollout status fails", async () => {
    await kubectl("patch", "deployment", "web", "--type=merge", "-p", '{"spec":{"progressDeadlineSeconds":5}}');
    await kubectl("set", "image", "deployment/web", `nginx=${BROKEN}`);
    const r = await h.kubectl.run(["rollout", "status", "deployment/web", "--timeout=90s"], { timeoutMs: 100_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('deployment "web" exceeded its progress deadline');
    const newRS = (await replicaSets("app=web")).find((x) => x.image === BROKEN)!.name;
    expect(await jsonpath("web", '.status.conditions[?(@.type=="Progressing")].message')).toBe(`ReplicaSet "${newRS}" has timed out progressing.`);
    const described = await kubectl("describe", "deployment", "web");
    expect(described).toMatch(/Progressing\s+False\s+ProgressDeadlineExceeded/);
    // maxUnavailable 25% of 4 = 1: three old pods stay up.
    expect(Number(await jsonpath("web", ".status.availableReplicas"))).toBeGreaterThanOrEqual(3);
  }, 180_000);
});
