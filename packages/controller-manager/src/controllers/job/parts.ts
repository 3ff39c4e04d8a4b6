/** What the Job sync is built from: plain parts, so unit tests drive it without informers. */
import type { Clock, Lister, Logger } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import type { ControllerExpectations } from "../../controller/expectations.js";
import type { PodObject } from "../../controller/pod-control.js";
import type { BackoffStore } from "./backoff.js";
import type { JobControllerOptions } from "./options.js";
import type { FinalizerExpectations } from "./tracking.js";
import type { JobObject } from "./util.js";

export interface JobSyncParts {
  client: ControllerClient;
  jobs: Lister<JobObject>;
  pods: Lister<PodObject>;
  recorder: Recorder;
  clock: Clock;
  logger: Logger;
  expectations: ControllerExpectations;
  finalizerExpectations: FinalizerExpectations;
  backoffs: BackoffStore;
  options: JobControllerOptions;
  /** Syncs the Job with this key again after ms (the work queue's addAfter). */
  enqueueAfter(key: string, ms: number): void;
}
