/**
 * The kubemu-controller-manager process: shared informers for every enabled controller (warm on
 * the standby too), leader election on Lease kube-system/kube-controller-manager, and — only
 * while leading — every enabled controller's workers. A controller whose run fails while leading
 * is logged and started again after a second; the others keep running.
 */
import type { Logger } from "@kubemu/common";
import { ApiClient, EventRecorder, FaultInjector, InformerFactory, holderIdentity, randomRng, realClock, startElectedProcess, type ComponentConfig } from "@kubemu/common";
import { setMaxListeners } from "node:events";
import type { ControllerContext, ControllerDescriptor, ControllerOptions } from "../controller/context.js";
import { ALL_CONTROLLERS } from "../controllers/index.js";
import { enabledControllers } from "./controllers-flag.js";
import { newManagerMetrics } from "./metrics.js";

export const LEASE_NAME = "kube-controller-manager";

export interface ManagerConfig extends ComponentConfig {
  /** `--controllers` entries (default `*`). */
  controllers: string[];
  /** Per-controller settings from flags (--job-pod-failure-backoff...). */
  controllerOptions?: ControllerOptions;
}

export interface RunningManager {
  stop(): Promise<void>;
  readonly identity: string;
  readonly url: string;
}

export async function startControllerManager(cfg: ManagerConfig, log: Logger, all: readonly ControllerDescriptor[] = ALL_CONTROLLERS): Promise<RunningManager> {
  const clock = realClock;
  const { rng, seed } = randomRng();
  const enabled = enabledControllers(cfg.controllers, all);
  const identity = holderIdentity(cfg.name, rng);
  log.info({ identity, seed, apiservers: cfg.apiserverEndpoints, controllers: enabled.map((c) => c.name) }, "starting kube-controller-manager");
  const faults = new FaultInjector({ rng: rng.fork() });
  const client = new ApiClient({ name: cfg.name, endpoints: cfg.apiserverEndpoints, ...(cfg.tls ? { tls: cfg.tls } : {}), fieldManager: "kube-controller-manager", clock, rng: rng.fork(), logger: log, faults });
  const informers = new InformerFactory(client, { clock, rng: rng.fork(), logger: log });
  const metrics = newManagerMetrics();
  const recorders = new Map<string, EventRecorder>();
  const recorder = (component: string) => {
    let r = recorders.get(component);
    if (!r) recorders.set(component, (r = new EventRecorder({ client, component, reportingInstance: identity, clock, logger: log })));
    return r;
  };
  const ctx: ControllerContext = { client, informers, recorder, clock, rng: rng.fork(), logger: log, queueMetrics: metrics, options: cfg.controllerOptions ?? {} };
  for (const c of enabled) c.informers(ctx);
  const stopping = new AbortController();
  setMaxListeners(200, stopping.signal);

  const runOne = async (c: ControllerDescriptor, signal: AbortSignal) => {
    while (!signal.aborted) {
      try {
        await c.run(ctx, signal);
      } catch (e) {
        log.error({ controller: c.name, err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "controller failed; starting it again in 1 s");
      }
      if (signal.aborted) return;
      await clock.sleep(1000, signal).catch(() => undefined);
    }
  };
  const lead = async (signal: AbortSignal) => {
    setMaxListeners(200, signal);
    if (!(await informers.waitForCacheSync(signal))) return;
    log.info({ controllers: enabled.map((c) => c.name) }, "leading: starting controllers");
    metrics.leaderStatus.set({ name: LEASE_NAME }, 1);
    try {
      // Each controller runs until the term ends (runOne restarts a failed one); with none enabled the leader just holds the lease.
      await Promise.all([...enabled.map((c) => runOne(c, signal)), untilAborted(signal)]);
    } finally {
      metrics.leaderStatus.set({ name: LEASE_NAME }, 0);
      log.info("stopped controllers");
    }
  };

  const proc = await startElectedProcess({
    cfg, log, client, informers, faults, registry: metrics.registry, leaseName: LEASE_NAME, identity, lead,
    recorder: recorder("kube-controller-manager"),
    recorders: () => [...recorders.values()],
    statusExtra: () => ({ controllers: enabled.map((c) => c.name) }),
    stopping, clock, rng: rng.fork(),
  });
  return { identity, url: proc.url, stop: () => proc.stop() };
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
}
