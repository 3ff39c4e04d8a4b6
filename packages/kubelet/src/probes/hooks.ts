/**
 * Container lifecycle hooks (upstream's lifecycle/handlers.go): postStart after the container
 * started, preStop before it is stopped; exec (in the container's namespaces), httpGet or sleep.
 * A failure is upstream's message, for the FailedPostStartHook / FailedPreStopHook events.
 */
import type { Container, LifecycleHandler } from "kubernetes-types/core/v1.js";
import { execInContainer, probeHttp } from "./probe.js";

export interface HookContext {
  container: Container;
  /** name_namespace(uid), as upstream's format.Pod. */
  podLabel: string;
  podIP: string;
  pid: number | undefined;
  env: Record<string, string>;
  timeoutMs: number;
  sleep: (ms: number) => Promise<void>;
}

/** Runs the handler; undefined when it succeeded, else the failure message. */
export async function runHook(h: LifecycleHandler, c: HookContext): Promise<string | undefined> {
  if (h.exec) {
    const argv = h.exec.command ?? [];
    const r = await execInContainer(argv, c.pid, c.env, c.timeoutMs);
    if (r.code === 0) return undefined;
    const err = r.error ?? (r.timedOut ? `command '${argv.join(" ")}' timed out` : `command '${argv.join(" ")}' exited with ${r.code}: ${r.output}`);
    return `Exec lifecycle hook ([${argv.join(" ")}]) for Container "${c.container.name}" in Pod "${c.podLabel}" failed - error: ${err}, message: ${JSON.stringify(r.output)}`;
  }
  if (h.httpGet) {
    const r = await probeHttp(h.httpGet, c.podIP, c.container, c.timeoutMs);
    if (r.result === "success") return undefined;
    return `HTTP lifecycle hook (${h.httpGet.path ?? ""}) for Container "${c.container.name}" in Pod "${c.podLabel}" failed - error: ${r.output}`;
  }
  const sleep = (h as { sleep?: { seconds: number } }).sleep;
  if (sleep) {
    await c.sleep(Math.min(sleep.seconds * 1000, c.timeoutMs));
    return undefined;
  }
  return undefined;
}
