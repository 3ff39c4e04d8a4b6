/**
 * What every controller is started with: the shared informers (kept warm on a standby, the same
 * caches for every controller), a client to write with, an event recorder under the controller's
 * own component name, and injected time and randomness.
 */
import type { KeyObject } from "node:crypto";
import type { Clock, EventRecorder, InformerFactory, Logger, Rng } from "@kubemu/common";
import type { ControllerClient } from "./client.js";

/** What controllers record events through (an EventRecorder; tests pass a recording fake). */
export type Recorder = Pick<EventRecorder, "event">;

export interface ControllerContext {
  client: ControllerClient;
  informers: InformerFactory;
  /** An EventRecorder whose source.component is `component` ("deployment-controller"). */
  recorder(component: string): Recorder;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** Reports one controller's queue to /metrics (workqueue_* by upstream's names). */
  queueMetrics?: QueueMetricsSink;
  /** Settings controllers take from the manager's flags (upstream's per-controller options). */
  options?: ControllerOptions;
}

/** Per-controller settings from flags; a controller uses upstream's default for what is unset. */
export interface ControllerOptions {
  /** --job-pod-failure-backoff: the Job controller's first delay before replacing a failed pod (10 s). */
  jobPodFailureBackoffMs?: number;
  /** --job-pod-failure-backoff-max: the cap of that doubling delay (10 min). */
  jobPodFailureBackoffMaxMs?: number;
  /** The cluster CA (PEM) published in kube-root-ca.crt and token Secrets: --root-ca-file, else --ca-file's. */
  rootCA?: string;
  /** --service-account-private-key-file: signs legacy service account tokens. */
  serviceAccountPrivateKey?: KeyObject;
  /** --resource-quota-sync-period: how often the resourcequota controller recounts every quota (upstream's 5 min). */
  resourceQuotaSyncPeriodMs?: number;
  /** --pvclaimbinder-sync-period: how often the PV controller syncs every claim and PV (upstream's 15 s). */
  pvClaimBinderSyncPeriodMs?: number;
  /** The node lifecycle controller's flags (--node-monitor-period...); unset fields take the fast profile's or upstream's defaults. */
  nodeLifecycle?: Partial<NodeLifecycleOptions>;
  /** The pod garbage collector's settings (--terminated-pod-gc-threshold; period and quarantine from --profile). */
  podGC?: Partial<PodGCOptions>;
}

/** kube-controller-manager's NodeLifecycleControllerConfiguration (plus the node monitor period). */
export interface NodeLifecycleOptions {
  /** --node-monitor-period: how often node heartbeats are checked. */
  nodeMonitorPeriodMs: number;
  /** --node-monitor-grace-period: no heartbeat for this long makes a node's conditions Unknown. */
  nodeMonitorGracePeriodMs: number;
  /** --node-startup-grace-period: the same for a node that never posted a Ready condition. */
  nodeStartupGracePeriodMs: number;
  /** --node-eviction-rate: nodes tainted NoExecute per second in a healthy zone (0.1). */
  nodeEvictionRate: number;
  /** --secondary-node-eviction-rate: the rate in a partially disrupted large zone (0.01). */
  secondaryNodeEvictionRate: number;
  /** --large-cluster-size-threshold: a zone larger than this keeps evicting at the secondary rate when partially disrupted (50). */
  largeClusterSizeThreshold: number;
  /** --unhealthy-zone-threshold: the share of not-ready nodes (at least 3) that makes a zone partially disrupted (0.55). */
  unhealthyZoneThreshold: number;
}

/** kube-controller-manager's PodGCControllerConfiguration plus upstream's gcCheckPeriod and quarantineTime constants. */
export interface PodGCOptions {
  /** --terminated-pod-gc-threshold: terminated pods kept before the oldest are deleted (12500; 0 disables). */
  terminatedPodGCThreshold: number;
  /** How often the collector runs (upstream's 20 s gcCheckPeriod; from --profile). */
  gcPeriodMs: number;
  /** How long a node missing from the informer waits before a live read confirms it is gone (upstream's 40 s quarantineTime; from --profile). */
  quarantineMs: number;
}

export interface QueueMetricsSink {
  depth(queue: string, n: number): void;
  added(queue: string): void;
  retried(queue: string): void;
}

/** One controller of the manager: a name as `--controllers` spells it, and how to run it while leading. */
export interface ControllerDescriptor {
  /** Upstream's name, e.g. "deployment-controller". */
  name: string;
  /** Older names `--controllers` also accepts ("deployment"). */
  aliases: readonly string[];
  /** Off unless named explicitly (upstream's disabled-by-default controllers). */
  disabledByDefault?: boolean;
  /** Informers it reads, so the manager can create them before starting the factory (warm standby). */
  informers(ctx: ControllerContext): void;
  /** Runs until the signal aborts; resolves once every worker has stopped. */
  run(ctx: ControllerContext, signal: AbortSignal): Promise<void>;
}
