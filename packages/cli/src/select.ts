import type { ProcessRecord } from "./cluster-state.js";
import { CliError } from "./errors.js";

/** The names a command accepts: every process name and every node name (meaning all of that node's processes). */
export function validNames(processes: readonly { name: string; node?: string }[]): string {
  const names = processes.map((p) => p.name);
  const nodes = [...new Set(processes.flatMap((p) => (p.node !== undefined ? [p.node] : [])))];
  return nodes.length > 0 ? `${names.join(", ")}; nodes: ${nodes.join(", ")}` : names.join(", ");
}

/**
 * Resolves NAME arguments to records, in cluster order without duplicates. A node name selects
 * that node's kubelet and kube-proxy. An unknown name is a CliError listing the valid ones.
 */
export function selectProcesses(processes: ProcessRecord[], names: string[]): ProcessRecord[] {
  const wanted = new Set<ProcessRecord>();
  for (const name of names) {
    const matches = processes.filter((p) => p.name === name || p.node === name);
    if (matches.length === 0) throw new CliError(`unknown process "${name}" (valid: ${validNames(processes)})`);
    for (const m of matches) wanted.add(m);
  }
  return processes.filter((p) => wanted.has(p));
}

/** Pads cells into aligned columns. */
export function formatTable(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd());
}
