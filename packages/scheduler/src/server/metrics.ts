/** kube-scheduler's metrics, by upstream's names and labels (pkg/scheduler/metrics). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface SchedulerMetrics {
  registry: Registry;
  /** scheduler_pending_pods{queue="active|backoff|unschedulable|gated"} */
  pendingPods: Gauge<"queue">;
  /** scheduler_schedule_attempts_total{result="scheduled|unschedulable|error", profile} */
  scheduleAttempts: Counter<"result" | "profile">;
  /** scheduler_scheduling_attempt_duration_seconds{result, profile} */
  attemptDuration: Histogram<"result" | "profile">;
  /** scheduler_scheduling_algorithm_duration_seconds */
  algorithmDuration: Histogram<string>;
  /** scheduler_pod_scheduling_sli_duration_seconds{attempts}: from first entering the queue to bound. */
  podSchedulingSli: Histogram<"attempts">;
  /** scheduler_queue_incoming_pods_total{queue, event} */
  incomingPods: Counter<"queue" | "event">;
  /** scheduler_preemption_attempts_total, scheduler_preemption_victims */
  preemptionAttempts: Counter<string>;
  preemptionVictims: Histogram<string>;
  /** scheduler_pod_scheduling_attempts: attempts until scheduled. */
  podSchedulingAttempts: Histogram<string>;
  /** kubemu: 1 while this replica leads (upstream exposes leader_election_master_status). */
  leaderStatus: Gauge<"name">;
}

/** Upstream's exponential buckets: 0.001 s × 2^i. */
const expBuckets = (start: number, factor: number, count: number) => Array.from({ length: count }, (_, i) => start * factor ** i);

export function newSchedulerMetrics(registry = new Registry()): SchedulerMetrics {
  return {
    registry,
    pendingPods: new Gauge({ name: "scheduler_pending_pods", help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.", labelNames: ["queue"], registers: [registry] }),
    scheduleAttempts: new Counter({ name: "scheduler_schedule_attempts_total", help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.", labelNames: ["result", "profile"], registers: [registry] }),
    attemptDuration: new Histogram({ name: "scheduler_scheduling_attempt_duration_seconds", help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)", labelNames: ["result", "profile"], buckets: expBuckets(0.001, 2, 15), registers: [registry] }),
    algorithmDuration: new Histogram({ name: "scheduler_scheduling_algorithm_duration_seconds", help: "Scheduling algorithm latency in seconds", buckets: expBuckets(0.001, 2, 15), registers: [registry] }),
    podSchedulingSli: new Histogram({ name: "scheduler_pod_scheduling_sli_duration_seconds", help: "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.", labelNames: ["attempts"], buckets: expBuckets(0.01, 2, 20), registers: [registry] }),
    incomingPods: new Counter({ name: "scheduler_queue_incoming_pods_total", help: "Number of pods added to scheduling queues by event and queue type.", labelNames: ["queue", "event"], registers: [registry] }),
    preemptionAttempts: new Counter({ name: "scheduler_preemption_attempts_total", help: "Total preemption attempts in the cluster till now", registers: [registry] }),
    preemptionVictims: new Histogram({ name: "scheduler_preemption_victims", help: "Number of selected preemption victims", buckets: expBuckets(1, 2, 7), registers: [registry] }),
    podSchedulingAttempts: new Histogram({ name: "scheduler_pod_scheduling_attempts", help: "Number of attempts to successfully schedule a pod.", buckets: expBuckets(1, 2, 5), registers: [registry] }),
    leaderStatus: new Gauge({ name: "leader_election_master_status", help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.", labelNames: ["name"], registers: [registry] }),
  };
}
