/**
 * ingress-nginx's default log-format-upstream ("upstreaminfo"):
 * $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
 * "$http_user_agent" $request_length $request_time [$proxy_upstream_name]
 * [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length
 * $upstream_response_time $upstream_status $req_id
 * (several tries: the upstream fields list each, ", "-separated, as nginx does).
 */

export interface AccessLogFields {
  remoteAddr: string;
  request: string;
  status: number;
  bodyBytesSent: number;
  referer: string | undefined;
  userAgent: string | undefined;
  requestLength: number;
  /** Seconds. */
  requestTime: number;
  upstreamName: string;
  alternativeName: string;
  upstreamAddr: string[];
  upstreamResponseLength: string[];
  upstreamResponseTime: string[];
  upstreamStatus: string[];
  reqId: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => String(n).padStart(2, "0");

/** $time_local: 03/Dec/2026:17:55:36 +0000. */
export function timeLocal(d: Date): string {
  return `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

const dash = (v: string | undefined) => (v === undefined || v === "" ? "-" : v);
const list = (v: string[]) => (v.length === 0 ? "-" : v.join(", "));

export function accessLogLine(f: AccessLogFields, now = new Date()): string {
  return (
    `${f.remoteAddr} - - [${timeLocal(now)}] "${f.request}" ${f.status} ${f.bodyBytesSent} "${dash(f.referer)}" "${dash(f.userAgent)}" ` +
    `${f.requestLength} ${f.requestTime.toFixed(3)} [${f.upstreamName}] [${f.alternativeName}] ${list(f.upstreamAddr)} ${list(f.upstreamResponseLength)} ${list(f.upstreamResponseTime)} ${list(f.upstreamStatus)} ${f.reqId}`
  );
}
