import { readFileSync } from "node:fs";
import type { Clock } from "@kubemu/common";
import type { ProcessRecord } from "./cluster-state.js";
import { getControlStatus, type ControlStatus, type ControlTls } from "./control-client.js";
import { isOurProcessAlive } from "./proc.js";

/** How a freshly started process looks after waiting for it. */
export type Readiness =
  | { kind: "ready"; status: ControlStatus }
  | { kind: "exited"; lastOutput: string }
  | { kind: "not-answering" }
  | { kind: "not-ready"; status: ControlStatus }
  | { kind: "not-checked" };

/**
 * Waits until the process answers GET /kubemu/status on its control URL without `ready: false`,
 * exits, or waitMs passes. waitMs 0 only checks that it has not already died. tls: for https://
 * control URLs (the API servers').
 */
export async function waitReady(rec: ProcessRecord, outFile: string, waitMs: number, clock: Clock, tls?: ControlTls): Promise<Readiness> {
  const deadline = clock.now() + waitMs;
  let notReady: ControlStatus | undefined;
  for (;;) {
    if (!isOurProcessAlive(rec)) return { kind: "exited", lastOutput: lastLine(outFile) };
    if (waitMs === 0) return { kind: "not-checked" };
    try {
      const status = await getControlStatus(rec.controlUrl, 500, tls);
      if (status.ready !== false) return { kind: "ready", status };
      notReady = status;
    } catch {
      /* not listening yet */
    }
    if (clock.now() >= deadline) return notReady ? { kind: "not-ready", status: notReady } : { kind: "not-answering" };
    await clock.sleep(100);
  }
}

/**
 * The most telling line of a dead process's output: the last "SomethingError: ..." line (what a
 * crashing Node process prints above its stack), else the last non-empty line; cut to 160 chars.
 */
export function lastLine(path: string): string {
  let lines: string[];
  try {
    lines = readFileSync(path, "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "");
  } catch {
    return "";
  }
  const errorLine = lines.findLast((l) => /^[A-Za-z]*Error\b[^:]*: /.test(l));
  const line = errorLine ?? lines[lines.length - 1] ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** One human line for a readiness result. */
export function describeReadiness(r: Readiness, rec: ProcessRecord, waitMs: number): string {
  switch (r.kind) {
    case "ready":
      return `ready${r.status.role !== undefined ? ` (${r.status.role}${r.status.term !== undefined ? `, term ${r.status.term}` : ""})` : ""}`;
    case "exited":
      return `EXITED right after start${r.lastOutput ? `: ${r.lastOutput}` : ""} (see \`kubemu logs ${rec.name}\`)`;
    case "not-answering":
      return `started, but ${rec.controlUrl}/kubemu/status did not answer within ${waitMs / 1000}s`;
    case "not-ready":
      return `started, but not ready within ${waitMs / 1000}s (see \`kubemu logs ${rec.name}\`)`;
    case "not-checked":
      return "started";
  }
}
