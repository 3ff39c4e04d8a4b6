/**
 * Port forwarding over the WebSocket channel protocols (upstream kubelet's portforward/websocket.go;
 * what @kubernetes/client-node and other non-kubectl clients speak): the ports come in the query
 * (`?port=80&port=8080`; the API server turns the client's `ports` into these), each port i gets a
 * data channel 2i and an error channel 2i+1, each channel starts with the port as 2 bytes
 * little-endian, and the session ends when every port's connection has ended.
 * `v4.channel.k8s.io` (and no subprotocol) carries `[channel][payload]` binary messages,
 * `v4.base64.channel.k8s.io` text messages of the channel digit then base64.
 */
import { connect, type Socket } from "node:net";
import type { WebSocket } from "ws";
import type { Logger } from "@kubemu/common";
import { IdleTimeout, type IdleTimeoutOptions } from "./idle-timeout.js";
import { forwardErrorText, type PortForwardTarget } from "./port-forward-target.js";

export const PORT_FORWARD_CHANNEL_PROTOCOLS = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io"];

/** The ports a WebSocket request names, or upstream's reason to refuse it. */
export function parsePortsQuery(q: URLSearchParams): number[] | string {
  const values = q.getAll("port");
  if (values.length === 0) return `query parameter "port" is required`;
  const ports: number[] = [];
  for (const v of values) {
    if (v === "") return `query parameter "port" cannot be empty`;
    for (const p of v.split(",")) {
      if (!/^\d+$/.test(p) || Number(p) > 65535) return `unable to parse "${v}" as a port: strconv.ParseUint: parsing "${p}": ${/^\d+$/.test(p) ? "value out of range" : "invalid syntax"}`;
      if (Number(p) < 1) return `port "${v}" must be > 0`;
      ports.push(Number(p));
    }
  }
  return ports;
}

/** Bytes buffered on the WebSocket above which the pod's socket is paused. */
const HIGH_WATER = 1 << 20;

export function serveChannelPortForward(ws: WebSocket, ports: number[], o: { target: PortForwardTarget; log: Logger; dial?: (host: string, port: number) => Socket; idle?: IdleTimeoutOptions }): void {
  const base64 = ws.protocol === "v4.base64.channel.k8s.io";
  // --streaming-connection-idle-timeout: wsstream's deadline passing closes the connection, no close frame.
  const idle = o.idle ? new IdleTimeout(o.idle, () => ws.terminate()) : undefined;
  const dial = o.dial ?? ((host, port) => connect({ host, port }));
  const send = (channel: number, data: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    idle?.touch();
    if (base64) ws.send(String.fromCharCode(48 + channel) + data.toString("base64"));
    else ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  const portBytes = (p: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(p, 0);
    return b;
  };
  let open = ports.length;
  const sockets: Socket[] = [];
  const pairDone = () => {
    if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };
  ports.forEach((port, i) => {
    send(2 * i, portBytes(port));
    send(2 * i + 1, portBytes(port));
    const pod = dial(o.target.podIP, port);
    sockets[i] = pod;
    pod.setNoDelay(true);
    let connected = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      pairDone();
    };
    pod.once("connect", () => (connected = true));
    pod.on("data", (d: Buffer) => {
      send(2 * i, d);
      // The client reads slower than the pod writes: wait for the WebSocket to drain.
      if (ws.bufferedAmount > HIGH_WATER) {
        pod.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount <= HIGH_WATER || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            pod.resume();
          }
        }, 10);
      }
    });
    pod.on("error", (e: NodeJS.ErrnoException) => {
      if (!connected) {
        const text = forwardErrorText(o.target, port, e);
        o.log.info({ port, err: e.message }, text);
        send(2 * i + 1, Buffer.from(text));
      }
      finish();
    });
    pod.on("close", finish);
  });
  ws.on("message", (data: Buffer | string, isBinary: boolean) => {
    idle?.touch();
    let channel: number;
    let payload: Buffer;
    if (base64 && !isBinary) {
      const text = data.toString();
      channel = text.charCodeAt(0) - 48;
      payload = Buffer.from(text.slice(1), "base64");
    } else {
      const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (b.length === 0) return;
      channel = b[0]!;
      payload = b.subarray(1);
    }
    // Only data channels take input; anything else is dropped, as upstream's read-only channels drop it.
    if (channel % 2 !== 0 || channel / 2 >= ports.length || payload.length === 0) return;
    const pod = sockets[channel / 2]!;
    if (!pod.destroyed) pod.write(payload);
  });
  ws.on("close", () => {
    idle?.stop();
    sockets.forEach((s) => s.destroy());
  });
  ws.on("error", (e) => o.log.debug({ err: e.message }, "port-forward websocket error"));
}
