/** Cell formatting shared by the table printers, matching kubectl/kube-apiserver output. */
import type { KubeObject } from "../storage/index.js";

/** Kubernetes' HumanDuration: "45s", "3m20s", "12m", "5h3m", "3d4h", "2y10d"… */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Age of a timestamp relative to now, "<unknown>" when absent or unparsable. */
export function age(ts: unknown, now: Date): string {
  if (typeof ts !== "string") return "<unknown>";
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return "<unknown>";
  return humanDuration(now.getTime() - t);
}

/** Reads a nested field without throwing: get(obj, "spec", "replicas"). */
export function get(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: any = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[p];
  }
  return cur;
}

export const num = (v: unknown, dflt = 0): number => (typeof v === "number" ? v : dflt);
export const str = (v: unknown, dflt = ""): string => (typeof v === "string" ? v : dflt);
export const arr = <T = any>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
export const rec = (v: unknown): Record<string, any> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, any>) : {});

/** "a=b,c=d" or "<none>". */
export function mapString(m: unknown): string {
  const entries = Object.entries(rec(m));
  return entries.length === 0 ? "<none>" : entries.map(([k, v]) => `${k}=${String(v)}`).join(",");
}

/** Container names and images of a pod template, comma-joined. */
export function containersAndImages(podSpec: unknown): [string, string] {
  const cs = arr(get(podSpec, "containers"));
  return [cs.map((c) => str(c.name)).join(","), cs.map((c) => str(c.image)).join(",")];
}

/** A metav1.LabelSelector rendered as kubectl does. */
export function labelSelectorString(sel: unknown): string {
  const s = rec(sel);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rec(s.matchLabels))) parts.push(`${k}=${String(v)}`);
  for (const e of arr(s.matchExpressions)) {
    const vals = arr<string>(e.values).join(",");
    switch (e.operator) {
      case "In":
        parts.push(`${e.key} in (${vals})`);
        break;
      case "NotIn":
        parts.push(`${e.key} notin (${vals})`);
        break;
      case "Exists":
        parts.push(String(e.key));
        break;
      case "DoesNotExist":
        parts.push(`!${String(e.key)}`);
        break;
    }
  }
  return parts.length === 0 ? "<none>" : parts.join(",");
}

export const nameOf = (o: KubeObject): string => o.metadata.name ?? "";
