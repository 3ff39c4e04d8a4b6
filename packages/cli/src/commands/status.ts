import { requireUpCluster, type ProcessRecord } from "../cluster-state.js";
import type { CommandContext } from "../context.js";
import { controlTls, getControlStatus, type ControlStatus } from "../control-client.js";
import { CliError } from "../errors.js";
import { isOurProcessAlive } from "../proc.js";
import { formatTable } from "../select.js";

/** How long `status` waits for each process's control endpoint before showing "-". */
export const statusTimeoutMs = 800;

/** "running": our pid is alive. "stopped": a kubemu command stopped it (or never started it). "exited": it died on its own. */
export type ProcessState = "running" | "stopped" | "exited";

/** One row of `status -o json`. */
export interface StatusEntry {
  name: string;
  pid: number | null;
  state: ProcessState;
  addresses: Record<string, string>;
  role?: string;
  term?: number;
}

/** The state of a recorded process right now. */
export function processState(rec: ProcessRecord): ProcessState {
  if (isOurProcessAlive(rec)) return "running";
  return rec.desired === "running" ? "exited" : "stopped";
}

/** Looks at every recorded process, asking running ones for their role (in parallel, short timeout). */
export async function collectStatus(ctx: CommandContext): Promise<{ statuses: StatusEntry[]; records: ProcessRecord[] }> {
  const state = requireUpCluster(ctx.paths, ctx.cluster);
  const tls = controlTls(ctx.paths.pkiDir);
  const statuses = await Promise.all(
    state.processes.map(async (rec): Promise<StatusEntry> => {
      const s: StatusEntry = { name: rec.name, pid: rec.pid, state: processState(rec), addresses: rec.addresses };
      if (s.state !== "running") return s;
      let control: ControlStatus | undefined;
      try {
        control = await getControlStatus(rec.controlUrl, statusTimeoutMs, tls);
      } catch {
        return s; // not answering: role unknown
      }
      if (typeof control.role === "string") s.role = control.role;
      if (typeof control.term === "number") s.term = control.term;
      return s;
    }),
  );
  return { statuses, records: state.processes };
}

/** `kubemu status [-o table|json]`. */
export async function status(ctx: CommandContext, output: string): Promise<number> {
  if (output !== "table" && output !== "json") throw new CliError(`unknown output format "${output}" (use table or json)`);
  const { statuses, records } = await collectStatus(ctx);
  if (output === "json") {
    ctx.io.out(JSON.stringify(statuses, null, 2));
    return 0;
  }
  const rows = [["NAME", "PID", "STATE", "ROLE", "ADDRESSES"]];
  statuses.forEach((s, i) => {
    const notBuilt = s.pid === null && records[i]?.built === false;
    const role = s.role === undefined ? "-" : s.term === undefined ? s.role : `${s.role} (term ${s.term})`;
    rows.push([
      s.name,
      s.pid === null ? "-" : String(s.pid),
      notBuilt ? "not built" : s.state,
      s.state === "running" ? role : "-",
      Object.entries(s.addresses).map(([k, v]) => `${k}=${v}`).join(" "),
    ]);
  });
  for (const line of formatTable(rows)) ctx.io.out(line);
  return 0;
}
