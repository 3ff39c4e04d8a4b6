/** klog's text header, as the controller's lines read: `I1203 17:55:36.123456       7 store.go:440] "msg" key="value"`. */

const p2 = (n: number) => String(n).padStart(2, "0");

export type Severity = "I" | "W" | "E" | "F";

export function klogHeader(sev: Severity, file: string, now = new Date(), pid = process.pid): string {
  const us = String(now.getUTCMilliseconds() * 1000).padStart(6, "0");
  return `${sev}${p2(now.getUTCMonth() + 1)}${p2(now.getUTCDate())} ${p2(now.getUTCHours())}:${p2(now.getUTCMinutes())}:${p2(now.getUTCSeconds())}.${us} ${String(pid).padStart(7)} ${file}]`;
}

/** klog.InfoS's structured form: the message quoted, then key="value" pairs. */
export function structured(msg: string, kv: Record<string, string> = {}): string {
  return [JSON.stringify(msg), ...Object.entries(kv).map(([k, v]) => `${k}=${JSON.stringify(v)}`)].join(" ");
}

export interface Klog {
  (sev: Severity, file: string, text: string): void;
}

export const stderrKlog: Klog = (sev, file, text) => {
  process.stderr.write(`${klogHeader(sev, file)} ${text}\n`);
};
