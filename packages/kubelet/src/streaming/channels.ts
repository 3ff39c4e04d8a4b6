/**
 * The remote-command streams of one exec/attach session, apart from the transport that carries
 * them: stdin in (with its close), resizes in, stdout/stderr out, then one final Status. The
 * WebSocket channel protocols (`v5.channel.k8s.io`, `v4.channel.k8s.io`) are one carrier
 * (`webSocketStreams`); an SPDY carrier gives the same interface so exec and attach need not
 * know which one kubectl chose.
 */
import type { WebSocket } from "ws";
import { IdleTimeout, type IdleTimeoutOptions } from "./idle-timeout.js";
import { OutputBudget } from "./output-budget.js";

export interface TerminalSize {
  width: number;
  height: number;
}

export interface RemoteCommandStreams {
  onStdin(cb: (data: Buffer) => void): void;
  /** The client closed its stdin (v5's close of channel 0; not signalled by v4). */
  onStdinClose(cb: () => void): void;
  onResize(cb: (size: TerminalSize) => void): void;
  /** The client went away (or the transport broke). */
  onClose(cb: () => void): void;
  /** Output for the client; false: the transport holds more than the session's budget, stop until onDrain. */
  stdout(data: Buffer): boolean;
  stderr(data: Buffer): boolean;
  /** The backlog that made stdout/stderr return false has drained. */
  onDrain(cb: () => void): void;
  /** The session's output not yet written out to the network. */
  readonly output: OutputBudget;
  /** The final Status (v4/v5 JSON), then the session ends. */
  finish(status: Record<string, unknown>): void;
}

/** kubectl's resize message: `{"Width":W,"Height":H}`; a malformed one is dropped as upstream logs and drops it. */
export function parseResize(payload: Buffer): TerminalSize | undefined {
  try {
    const r = JSON.parse(payload.toString("utf8")) as { Width?: unknown; Height?: unknown };
    if (typeof r.Width === "number" && typeof r.Height === "number" && r.Width > 0 && r.Height > 0) return { width: Math.floor(r.Width), height: Math.floor(r.Height) };
  } catch {
    // Not JSON.
  }
  return undefined;
}

export const SUCCESS_STATUS = { metadata: {}, status: "Success" };

const frame = (channel: number, payload: Buffer | string) => Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(payload) ? payload : Buffer.from(payload)]);

export interface CarrierOptions {
  /** --streaming-connection-idle-timeout; none when undefined. */
  idle?: IdleTimeoutOptions;
  output?: OutputBudget;
}

/**
 * The channel protocols over an accepted WebSocket: `[channel][payload]` binary messages, 255 =
 * close of a channel (v5). Idle for the timeout, the connection is closed without a Status, as
 * upstream's wsstream closes it when its deadline passes; kubectl then ends with exit code 0, as
 * it does on a real cluster (where the API server's stream translator reports Success).
 */
export function webSocketStreams(ws: WebSocket, o: CarrierOptions = {}): RemoteCommandStreams {
  const output = o.output ?? new OutputBudget();
  const idle = o.idle ? new IdleTimeout(o.idle, () => ws.close(1000)) : undefined;
  ws.once("close", () => idle?.stop());
  const v5 = ws.protocol === "v5.channel.k8s.io";
  const stdin: ((d: Buffer) => void)[] = [];
  const stdinClose: (() => void)[] = [];
  const resize: ((s: TerminalSize) => void)[] = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    idle?.touch();
    if (!isBinary || data.length === 0) return;
    const channel = data[0]!;
    if (channel === 0) for (const cb of stdin) cb(data.subarray(1));
    else if (channel === 255 && v5 && data[1] === 0) for (const cb of stdinClose) cb();
    else if (channel === 4) {
      const size = parseResize(data.subarray(1));
      if (size) for (const cb of resize) cb(size);
    }
  });
  ws.on("error", () => undefined);
  ws.on("ping", () => idle?.touch());
  ws.on("pong", () => idle?.touch());
  // ws calls back once the message has been written to the socket (or the socket is gone).
  const send = (channel: number, data: Buffer | string): boolean => {
    if (ws.readyState !== ws.OPEN) return true;
    idle?.touch();
    const message = frame(channel, data);
    const below = output.add(message.length);
    ws.send(message, () => {
      idle?.touch();
      output.done(message.length);
    });
    return below;
  };
  return {
    onStdin: (cb) => stdin.push(cb),
    onStdinClose: (cb) => stdinClose.push(cb),
    onResize: (cb) => resize.push(cb),
    onClose: (cb) => ws.once("close", cb),
    stdout: (d) => send(1, d),
    stderr: (d) => send(2, d),
    onDrain: (cb) => output.onDrain(cb),
    output,
    finish: (status) => {
      send(3, JSON.stringify(status));
      ws.close(1000);
    },
  };
}
