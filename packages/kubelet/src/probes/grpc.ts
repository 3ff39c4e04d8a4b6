/**
 * grpc probes: the standard health check (grpc.health.v1.Health/Check) over HTTP/2 without TLS,
 * with upstream's messages ("service unhealthy (responded with \"NOT_SERVING\")", "timeout:
 * failed to connect service ... within 1s").
 */
import { connect, constants } from "node:http2";
import type { ProbeOutcome } from "./probe.js";

const STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/** HealthCheckRequest { string service = 1 } framed as a gRPC message. */
export function healthRequest(service: string): Buffer {
  const svc = Buffer.from(service, "utf8");
  const msg = svc.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...varint(svc.length)]), svc]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** The status field of a framed HealthCheckResponse (0 when absent). */
export function healthStatus(frame: Buffer): number {
  const msg = frame.subarray(5, 5 + frame.readUInt32BE(1));
  for (let i = 0; i < msg.length; ) {
    const tag = msg[i++]!;
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = msg[i++]!;
      v |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    if (tag === 0x08) return v;
  }
  return 0;
}

export function probeGrpc(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  const addr = `${host}:${port}`;
  const within = `${timeoutMs / 1000}s`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.close();
      resolve(o);
    };
    const session = connect(`http://${addr}`);
    const timer = setTimeout(() => finish({ result: "failure", output: `timeout: health rpc did not complete within ${within}` }), timeoutMs);
    session.on("error", (e: NodeJS.ErrnoException) => finish({ result: "failure", output: `timeout: failed to connect service "${addr}" within ${within}: ${e.code === "ECONNREFUSED" ? `connection error: desc = "transport: Error while dialing: dial tcp ${addr}: connect: connection refused"` : e.message}` }));
    const req = session.request({ [constants.HTTP2_HEADER_METHOD]: "POST", [constants.HTTP2_HEADER_PATH]: "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers", "user-agent": "kube-probe/1.32" });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = "";
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
    });
    req.on("trailers", (t) => {
      grpcStatus = String(t["grpc-status"] ?? grpcStatus ?? "");
      grpcMessage = String(t["grpc-message"] ?? "");
    });
    req.on("data", (d: Buffer) => chunks.push(d));
    // A stream that fails because the connection did: the session's error (just after) says why.
    req.on("error", (e) => setTimeout(() => finish({ result: "failure", output: `rpc error: ${e.message}` }), 20));
    req.on("end", () => {
      if (grpcStatus === "12") return finish({ result: "failure", output: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${grpcMessage}` });
      if (grpcStatus && grpcStatus !== "0") return finish({ result: "failure", output: `rpc error: code = ${grpcStatus} desc = ${grpcMessage}` });
      const body = Buffer.concat(chunks);
      const status = body.length >= 5 ? healthStatus(body) : 0;
      if (status === 1) return finish({ result: "success", output: "service healthy" });
      finish({ result: "failure", output: `service unhealthy (responded with "${STATUS_NAMES[status] ?? String(status)}")` });
    });
    req.end(healthRequest(service));
  });
}
