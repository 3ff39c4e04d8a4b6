/**
 * One proxied TCP connection carried to a pod on another node through that node's kubelet
 * (compose mode): a WebSocket to `/portForward/<ns>/<pod>?port=<p>` with upstream's
 * `v4.channel.k8s.io` channel protocol — binary messages `[channel][payload]`, channel 0 the
 * pod's data and channel 1 its error text, each opening with the port as 2 bytes. The kubelet
 * dials the pod when the WebSocket opens; the pod's side closing ends the WebSocket.
 *
 * As a Duplex: bytes written go to the pod (backpressure: the write completes when the socket has
 * taken it), bytes read come from it; 'connect' when the kubelet accepted the upgrade; an error
 * before it is a failed dial (the kubelet refused the upgrade, 403 without nodes/proxy, or could
 * not be reached), an error after it a failed forward (the kubelet's error channel: the pod
 * refused the connection). The channel protocol has no half-close: a client's FIN is not passed
 * on, and the tunnel ends when the pod closes its side (or the client resets).
 */
import { Duplex } from "node:stream";
import { WebSocket } from "ws";
import type { KubeletTarget } from "../model/endpoint-route.js";

export const PORT_FORWARD_CHANNEL_PROTOCOL = "v4.channel.k8s.io";
const DATA = 0;
const ERROR = 1;
/** The kubelet must answer the upgrade within this (a stuck node must not hold clients for long). */
const HANDSHAKE_TIMEOUT_MS = 5000;

export interface KubeletTunnelTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** The port-forward URL of a pod port on a node's kubelet (https when kube-proxy has TLS credentials). */
export function portForwardUrl(t: KubeletTarget, podPort: number, secure: boolean): string {
  return `${secure ? "wss" : "ws"}://${t.host}:${t.port}/portForward/${encodeURIComponent(t.namespace)}/${encodeURIComponent(t.pod)}?port=${podPort}`;
}

export class KubeletTunnel extends Duplex {
  private readonly ws: WebSocket;
  /** Port-prefix bytes still to strip, per channel. */
  private readonly prefix = [2, 2];
  private errorText = "";
  private opened = false;

  constructor(target: KubeletTarget, podPort: number, tls: KubeletTunnelTls | undefined) {
    super({ allowHalfOpen: true });
    const secure = tls?.cert !== undefined;
    this.ws = new WebSocket(portForwardUrl(target, podPort, secure), [PORT_FORWARD_CHANNEL_PROTOCOL], {
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      ...(secure ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
    });
    this.ws.binaryType = "nodebuffer";
    this.ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => this.destroy(new Error(`kubelet on ${target.node} answered ${res.statusCode}: ${body.trim()}`)));
      res.on("error", (e) => this.destroy(e));
    });
    this.ws.on("open", () => {
      this.opened = true;
      this.emit("connect");
    });
    this.ws.on("message", (data: Buffer) => this.onMessage(data));
    this.ws.on("close", () => {
      if (this.errorText) this.destroy(new Error(this.errorText));
      else if (!this.opened) this.destroy(new Error(`kubelet on ${target.node} closed the connection`));
      else this.push(null);
    });
    this.ws.on("error", (e) => this.destroy(e));
  }

  get connected(): boolean {
    return this.opened;
  }

  private onMessage(b: Buffer): void {
    if (b.length === 0) return;
    const channel = b[0]!;
    if (channel !== DATA && channel !== ERROR) return;
    let payload = b.subarray(1);
    const skip = Math.min(this.prefix[channel]!, payload.length);
    if (skip > 0) {
      this.prefix[channel]! -= skip;
      payload = payload.subarray(skip);
    }
    if (payload.length === 0) return;
    if (channel === ERROR) this.errorText += payload.toString();
    else if (!this.push(payload)) this.ws.pause();
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) return cb(new Error("kubelet tunnel is closed"));
    const msg = Buffer.allocUnsafe(chunk.length + 1);
    msg[0] = DATA;
    chunk.copy(msg, 1);
    this.ws.send(msg, { binary: true }, (e) => cb(e ?? null));
  }

  override _final(cb: (e?: Error | null) => void): void {
    // No half-close in the channel protocol: the pod's side ends the tunnel.
    cb();
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) {
      // A reset (err) drops the connection at once; a clean end closes the WebSocket properly.
      if (err) this.ws.terminate();
      else this.ws.close(1000);
    } else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    cb(err);
  }
}

/** Opens tunnels with kube-proxy's own client certificate (undefined: plain ws:// to the kubelet, the test harnesses' mode). */
export class KubeletTunnels {
  constructor(private readonly tls: KubeletTunnelTls | undefined) {}

  open(target: KubeletTarget, podPort: number): KubeletTunnel {
    return new KubeletTunnel(target, podPort, this.tls);
  }
}
