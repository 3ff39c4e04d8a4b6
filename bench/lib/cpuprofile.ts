/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions by self time and by total
 * (inclusive) time, as percentages of the busy (non-idle) sampled time.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  /** "name (file:line)" with the path shortened to packages/… or node_modules/…. */
  fn: string;
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  busyMs: number;
  idlePct: number;
  /** Hottest by self time. */
  bySelf: HotFunction[];
  /** Hottest by inclusive time (where whole subsystems spend), "(root)" left out. */
  byTotal: HotFunction[];
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const name = f.functionName || "(anonymous)";
  if (!f.url) return name;
  const file = f.url.replace(/^file:\/\//, "").replace(/^.*\/(packages\/|node_modules\/)/, "$1");
  return `${name} (${file}:${f.lineNumber + 1})`;
}

/** Summarizes one profile file: the `top` functions by self and by inclusive time. */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    const n = byId.get(id)!;
    if (n.callFrame.functionName === "(idle)") {
      idle += us;
      return;
    }
    busy += us;
    self.set(label(n), (self.get(label(n)) ?? 0) + us);
    // Each function counts once per sample, however deep it recurses.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + us);
    }
  });
  const pct = (us: number) => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  const row = ([fn]: [string, number]): HotFunction => ({ fn, selfPct: pct(self.get(fn) ?? 0), totalPct: pct(inclusive.get(fn) ?? 0) });
  return {
    busyMs: Math.round(busy / 1000),
    idlePct: Math.round((idle / Math.max(1, busy + idle)) * 1000) / 10,
    bySelf: [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(row),
    byTotal: [...inclusive].filter(([fn]) => fn !== "(root)").sort((a, b) => b[1] - a[1]).slice(0, 2 * top).map(row),
  };
}
