/** kube-controller-manager's metrics by upstream's names: the work queues' and leader election's. */
import { Counter, Gauge, Registry } from "prom-client";
import type { QueueMetricsSink } from "../controller/context.js";

export interface ManagerMetrics extends QueueMetricsSink {
  registry: Registry;
  /** leader_election_master_status{name="kube-controller-manager"}: 1 while leading. */
  leaderStatus: Gauge<"name">;
}

export function newManagerMetrics(registry = new Registry()): ManagerMetrics {
  const depth = new Gauge({ name: "workqueue_depth", help: "Current depth of workqueue", labelNames: ["name"], registers: [registry] });
  const adds = new Counter({ name: "workqueue_adds_total", help: "Total number of adds handled by workqueue", labelNames: ["name"], registers: [registry] });
  const retries = new Counter({ name: "workqueue_retries_total", help: "Total number of retries handled by workqueue", labelNames: ["name"], registers: [registry] });
  return {
    registry,
    leaderStatus: new Gauge({ name: "leader_election_master_status", help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.", labelNames: ["name"], registers: [registry] }),
    depth: (name, n) => depth.set({ name }, n),
    added: (name) => adds.inc({ name }),
    retried: (name) => retries.inc({ name }),
  };
}
