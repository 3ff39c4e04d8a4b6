#!/usr/bin/env node
/**
 * The apiserver-lb process: `node dist/apiserver-lb/main.js --name apiserver-lb --bind-address
 * 127.0.0.1 --port P --backends apiserver-0=https://127.0.20.1:6443,... [--backend-ca-file ca.crt] --control-url URL ...`.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createLogger, defaultStopDeadlineMs, FaultInjector, realClock, startControlServer } from "@kubemu/common";
import { ApiserverBalancer, parseBackends } from "./balancer.js";

/** Probe timing per profile (fast reacts within about a second; realistic is HAProxy-like). */
const healthTiming = {
  fast: { intervalMs: 500, timeoutMs: 1_000 },
  realistic: { intervalMs: 2_000, timeoutMs: 2_000 },
} as const;

function fail(message: string): never {
  process.stderr.write(`apiserver-lb: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      name: { type: "string", default: "apiserver-lb" },
      "data-dir": { type: "string" },
      "state-dir": { type: "string" },
      profile: { type: "string", default: "fast" },
      "log-level": { type: "string", default: "info" },
      "control-url": { type: "string" },
      "bind-address": { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      backends: { type: "string" },
      "backend-ca-file": { type: "string" },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}

const profile = values.profile;
if (profile !== "fast" && profile !== "realistic") fail(`unknown --profile "${profile}" (use fast or realistic)`);
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail("--port must be a port number");
if (values.backends === undefined) fail("--backends is required");
if (values["control-url"] === undefined) fail("--control-url is required");
let backends;
try {
  backends = parseBackends(values.backends);
} catch (e) {
  fail((e as Error).message);
}
const controlUrl = new URL(values["control-url"]);
let backendCa: Buffer | undefined;
if (values["backend-ca-file"] !== undefined) {
  try {
    backendCa = readFileSync(values["backend-ca-file"]);
  } catch (e) {
    fail(`cannot read --backend-ca-file: ${(e as Error).message}`);
  }
}

const log = createLogger({ component: values.name, stateDir: values["state-dir"], level: values["log-level"] });
const faults = new FaultInjector();
const timing = healthTiming[profile];
const balancer = new ApiserverBalancer({ backends, clock: realClock, healthIntervalMs: timing.intervalMs, healthTimeoutMs: timing.timeoutMs, ...(backendCa ? { backendCa } : {}), faults, logger: log });

try {
  const bound = await balancer.listen(values["bind-address"], port);
  const control = await startControlServer({
    host: controlUrl.hostname,
    port: Number(controlUrl.port),
    faults,
    logger: log,
    status: () => {
      const backends = balancer.snapshot();
      return { name: values.name, pid: process.pid, ready: backends.some((b) => b.healthy && b.probed), backends };
    },
  });
  log.info({ address: `${values["bind-address"]}:${bound}`, backends, controlUrl: control.url }, "apiserver-lb listening");
  // Bounded like every component (runProcessMain): exit anyway after the deadline, at once on a second signal.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal while shutting down; exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    setTimeout(() => {
      log.warn({ deadlineMs: defaultStopDeadlineMs }, `shutdown did not finish within ${defaultStopDeadlineMs} ms; exiting anyway`);
      process.exit(1);
    }, defaultStopDeadlineMs).unref();
    Promise.all([balancer.close(), control.close()]).then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: (e as Error).message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (e) {
  log.fatal({ err: (e as Error).message }, "cannot start");
  fail((e as Error).message);
}
