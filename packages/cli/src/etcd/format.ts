/**
 * etcdctl's output formats for the `kubemu etcd` commands: the "simple" line formats, the
 * bordered `-w table`, and `-w json` shapes (keys and values base64, as etcdctl prints them).
 */
import type { KeyValue, MvccEvent } from "@kubemu/etcd-raft";
import { CliError } from "../errors.js";

export const writeFormats = ["simple", "json", "table"] as const;
export type WriteFormat = (typeof writeFormats)[number];

/** Checks a `-w` value against the formats a command supports. */
export function parseWriteFormat(value: string, allowed: readonly WriteFormat[]): WriteFormat {
  if ((allowed as readonly string[]).includes(value)) return value as WriteFormat;
  throw new CliError(`unknown output format "${value}" for this command (use ${allowed.join(", ")})`);
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** Member ids in hex, as etcdctl shows them. */
export const hexId = (id: number) => id.toString(16);

/** A key then its value, one line each (with --keys-only the value line is empty, as in etcdctl). */
export function kvLines(kv: KeyValue): string[] {
  return [text(kv.key), text(kv.value)];
}

/** One watch event: PUT or DELETE, then the key and value lines. */
export function eventLines(e: MvccEvent): string[] {
  return [e.type, ...kvLines(e.kv)];
}

/** etcdctl's JSON for a KeyValue (mvccpb.KeyValue with base64 bytes). */
export function kvJson(kv: KeyValue): Record<string, unknown> {
  return {
    key: base64(kv.key),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    ...(kv.value.length > 0 ? { value: base64(kv.value) } : {}),
    ...(kv.lease ? { lease: kv.lease } : {}),
  };
}

/** Bytes in SI units like etcdctl (go-humanize): "9 B", "1.5 kB", "83 kB", "1.2 MB". */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  const e = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1000)));
  const v = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[e]}`;
}

/** A bordered table like etcdctl's `-w table` (tablewriter): +---+ rules, centred header. */
export function borderedTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return " ".repeat(left) + s + " ".repeat(w - s.length - left);
  };
  const line = (cells: string[], pad: (s: string, w: number) => string) => `| ${cells.map((c, i) => pad(c, widths[i]!)).join(" | ")} |`;
  return [rule, line(header, centre), rule, ...rows.map((r) => line(r, (s, w) => s.padStart(w))), rule];
}
