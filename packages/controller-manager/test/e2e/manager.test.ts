/**
 * The kubemu-controller-manager process: two replicas elect one leader on Lease
 * kube-system/kube-controller-manager, the standby takes over when the leader is killed, both
 * serve /healthz /readyz /metrics, and a bad --controllers flag is one line and exit 2.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.1", api: "127.1.2", scheduler: "127.1.3", manager: "127.1.4" }, { managers: 2 });

useCluster(h);

type Lease = KubeObject & { spec: { holderIdentity?: string; leaseTransitions?: number } };

describe("kubemu-controller-manager", () => {
  it("two replicas elect one leader; the Lease, the standby and the metrics agree", async () => {
    const leader = await h.leader(30_000);
    expect(leader.identity).toMatch(/^controller-manager-[01]_[0-9a-z]{4}$/);
    const lease = await h.client.get<Lease>(Resources.leases, "kube-system", "kube-controller-manager");
    expect(lease.spec.holderIdentity).toBe(leader.identity);
    const standby = await eventually(
      async () => (await Promise.all(h.managers.map((m) => h.status(m.name)))).find((s) => s?.role === "standby"),
      (s) => s?.leaseHolder === leader.identity,
      "the standby sees the leader",
      20_000,
    );
    expect(standby?.ready).toBe(true);
    const leaderUrl = h.managers.find((m) => m.name === leader.name)!.url;
    const standbyUrl = h.managers.find((m) => m.name !== leader.name)!.url;
    const metric = async (url: string) => (await (await fetch(`${url}/metrics`)).text()).match(/^leader_election_master_status\{name="kube-controller-manager"\} (\d)/m)?.[1];
    expect(await metric(leaderUrl)).toBe("1");
    expect(await metric(standbyUrl)).not.toBe("1");
    for (const path of ["/healthz", "/readyz"]) expect((await fetch(`${standbyUrl}${path}`)).status).toBe(200);
    const events = await eventually(() => h.client.list(Resources.events, { namespace: "kube-system" }), (l) => (l.items as unknown as { reason?: string; message?: string }[]).some((e) => e.reason === "LeaderElection" && e.message === `${leader.identity} became leader`), "LeaderElection event");
    expect(events.items.length).toBeGreaterThan(0);
  });

  it("the standby takes the lease when the leader is killed", async () => {
    const first = await h.leader(30_000);
    await h.kill(first.name);
    const next = await h.leader(30_000, first.name);
    expect(next.name).not.toBe(first.name);
    const lease = await h.client.get<Lease>(Resources.leases, "kube-system", "kube-controller-manager");
    expect(lease.spec.holderIdentity).toBe(next.identity);
    h.startManager(Number(first.name.slice(-1)));
  });

  it("an unknown --controllers entry is one line on stderr and exit 2", () => {
    const main = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
    const r = spawnSync(process.execPath, [main, "--name", "cm-x", "--apiserver-urls", "http://127.1.2.1:6443", "--controllers", "*,-nosuch"], { encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('"nosuch" is not in the list of known controllers');
  });
});
