/** Go's time.Duration.String() for millisecond durations, as kubelet messages print them ("1.393s", "313ms", "5m0s"). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${neg ? "-" : ""}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  // Seconds keep up to three decimals without trailing zeros, as Go prints them.
  const secs = Number.isInteger(s) ? String(s) : s.toFixed(3).replace(/0+$/, "");
  let out = `${secs}s`;
  if (h > 0) out = `${h}h${m}m${out}`;
  else if (m > 0) out = `${m}m${out}`;
  return `${neg ? "-" : ""}${out}`;
}

/** metav1.Time: RFC 3339 to the second. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** metav1.MicroTime: RFC 3339 with six fractional digits (Lease renewTime). */
export function rfc3339Micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
