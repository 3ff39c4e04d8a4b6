import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthRequest, healthStatus, probeGrpc } from "../src/probes/grpc.js";

/** A gRPC health server answering per service: a status number, or "unimplemented". */
let server: Http2Server;
let port = 0;
const answers: Record<string, number | "unimplemented"> = { "": 1, sick: 2 };

function frame(status: number): Buffer {
  const msg = Buffer.from([0x08, status]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

beforeAll(async () => {
  server = createServer();
  server.on("stream", (stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const svc = body.length > 5 ? body.subarray(7).toString() : "";
      const a = answers[svc];
      if (a === "unimplemented" || a === undefined) {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "unknown service" }, { endStream: true });
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(frame(a));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("grpc probe", () => {
  it("frames the request and reads the status", () => {
    expect([...healthRequest("")]).toEqual([0, 0, 0, 0, 0]);
    expect([...healthRequest("ab")]).toEqual([0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
    expect(healthStatus(frame(2))).toBe(2);
  });
  it("SERVING succeeds; NOT_SERVING fails with upstream's words; unimplemented and refused fail", async () => {
    expect(await probeGrpc("127.0.0.1", port, "", 1000)).toEqual({ result: "success", output: "service healthy" });
    expect(await probeGrpc("127.0.0.1", port, "sick", 1000)).toEqual({ result: "failure", output: 'service unhealthy (responded with "NOT_SERVING")' });
    expect((await probeGrpc("127.0.0.1", port, "other", 1000)).output).toContain("does not implement the grpc health protocol");
    const closed = await probeGrpc("127.0.0.1", 1, "", 1000);
    expect(closed.result).toBe("failure");
    expect(closed.output).toContain('failed to connect service "127.0.0.1:1"');
  });
});
