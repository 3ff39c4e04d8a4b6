/**
 * The chaos test's nemesis: a seeded schedule of faults against a running TestCluster —
 * SIGKILL of the Raft leader and its restart, a symmetric partition of one member from all its
 * peers (fault rules on every member's control URL) and its healing, and a leader transfer
 * (moveLeader). Steps run one at a time; each waits until the cluster has an agreed leader again
 * before the next, so a step that never recovers fails the test with the cluster's state.
 */
import { performance } from "node:perf_hooks";
import type { Rng } from "@kubemu/common";
import { sleep, type TestCluster } from "../server/cluster.js";

export type NemesisAction = "kill" | "partition" | "transfer";

export interface NemesisCounts {
  kills: number;
  partitions: number;
  transfers: number;
  /** moveLeader calls that did not complete (timeout, leader changed meanwhile): not a failure. */
  transferFailures: number;
}

/** The order actions repeat in: kills dominate, every kind appears in the first four steps. */
const CYCLE: readonly NemesisAction[] = ["kill", "partition", "kill", "transfer"];

export class Nemesis {
  readonly counts: NemesisCounts = { kills: 0, partitions: 0, transfers: 0, transferFailures: 0 };
  /** What happened when (ms since the nemesis was created), for the failure report. */
  readonly log: string[] = [];
  private readonly t0 = performance.now();
  private stopped = false;

  constructor(
    private readonly cluster: TestCluster,
    private readonly rng: Rng,
  ) {}

  /**
   * Runs steps of the cycle until durationMs has passed (finishing the step in progress) and at
   * least minSteps steps are done (so a slow machine still gets every kind of fault).
   */
  async run(durationMs: number, minSteps = 0): Promise<void> {
    const end = performance.now() + durationMs;
    for (let i = 0; (i < minSteps || performance.now() < end) && !this.stopped; i++) {
      await this.step(CYCLE[i % CYCLE.length]!);
      // Quiet time so the workload runs against a healthy cluster between faults too.
      await sleep(this.rng.range(300, 1200));
    }
  }

  /** Stops after the current step. */
  stop(): void {
    this.stopped = true;
  }

  async step(action: NemesisAction): Promise<void> {
    switch (action) {
      case "kill":
        return this.killLeader();
      case "partition":
        return this.partitionOne();
      case "transfer":
        return this.transferLeader();
    }
  }

  /** SIGKILLs the leader, leaves it down for a while, restarts it from its data dir. */
  private async killLeader(): Promise<void> {
    const leader = await this.cluster.waitForLeader();
    const spec = this.cluster.specs.find((s) => s.name === leader)!;
    this.note(`SIGKILL leader ${leader}`);
    await this.cluster.kill(leader, "SIGKILL");
    this.counts.kills++;
    await sleep(this.rng.range(800, 2500));
    this.note(`restart ${leader}`);
    this.cluster.start(spec);
    const next = await this.cluster.waitForLeader();
    this.note(`leader ${next}`);
  }

  /** Cuts one member (the leader half of the time) off from every peer, both directions, then heals. */
  private async partitionOne(): Promise<void> {
    const leader = await this.cluster.waitForLeader();
    const victim = this.rng.chance(0.5) ? leader : this.rng.pick(this.cluster.specs.map((s) => s.name));
    const others = this.cluster.specs.filter((s) => s.name !== victim);
    const victimSpec = this.cluster.specs.find((s) => s.name === victim)!;
    this.note(`partition ${victim}${victim === leader ? " (leader)" : ""}`);
    await setFaults(
      victimSpec.controlUrl,
      others.map((s) => ({ peer: s.name, action: "drop" })),
    );
    await Promise.all(others.map((s) => setFaults(s.controlUrl, [{ peer: victim, action: "drop" }])));
    this.counts.partitions++;
    await sleep(this.rng.range(1500, 3500));
    await this.healAll();
    this.note(`healed ${victim}`);
    const next = await this.cluster.waitForLeader();
    this.note(`leader ${next}`);
  }

  /** Moves leadership to a random follower through moveLeader on the leader. */
  private async transferLeader(): Promise<void> {
    const leader = await this.cluster.waitForLeader();
    const target = this.rng.pick(this.cluster.specs.filter((s) => s.name !== leader)).name;
    this.note(`moveLeader ${leader} → ${target}`);
    const c = this.cluster.client([leader], 5000);
    try {
      await c.moveLeader({ name: target });
      this.counts.transfers++;
    } catch (e) {
      this.counts.transferFailures++;
      this.note(`moveLeader failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      await c.close();
    }
    const next = await this.cluster.waitForLeader();
    this.note(`leader ${next}`);
  }

  /** Clears the fault rules of every running member. */
  async healAll(): Promise<void> {
    await Promise.all(
      [...this.cluster.running.values()].map(async (m) => {
        const res = await fetch(`${m.controlUrl}/kubemu/faults`, { method: "DELETE" });
        if (res.status !== 200) throw new Error(`healing ${m.name} failed: HTTP ${res.status} ${await res.text()}`);
      }),
    );
  }

  private note(what: string): void {
    this.log.push(`${((performance.now() - this.t0) / 1000).toFixed(2)}s ${what}`);
  }
}

async function setFaults(controlUrl: string, rules: unknown[]): Promise<void> {
  const res = await fetch(`${controlUrl}/kubemu/faults`, { method: "PUT", body: JSON.stringify({ rules }), headers: { "content-type": "application/json" } });
  if (res.status !== 200) throw new Error(`setting faults on ${controlUrl} failed: HTTP ${res.status} ${await res.text()}`);
}
