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
