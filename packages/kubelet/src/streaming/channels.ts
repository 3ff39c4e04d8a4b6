/**
 * The remote-command streams of one exec/attach session, apart from the transport that carries
 * them: stdin in (with its close), resizes in, stdout/stderr out, then one final Status. The
 * WebSocket channel protocols (`v5.channel.k8s.io`, `v4.channel.k8s.io`) are one carrier
 * (`webSocketStreams`); an SPDY carrier gives the same interface so exec and attach need not
 * know which one kubectl chose.
 */
import type { WebSocket } from "ws";

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
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
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

/** The channel protocols over an accepted WebSocket: `[channel][payload]` binary messages, 255 = close of a channel (v5). */
export function webSocketStreams(ws: WebSocket): RemoteCommandStreams {
  const v5 = ws.protocol === "v5.channel.k8s.io";
  const stdin: ((d: Buffer) => void)[] = [];
  const stdinClose: (() => void)[] = [];
  const resize: ((s: TerminalSize) => void)[] = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => {
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
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(channel, data));
  };
  return {
    onStdin: (cb) => stdin.push(cb),
    onStdinClose: (cb) => stdinClose.push(cb),
    onResize: (cb) => resize.push(cb),
    onClose: (cb) => ws.once("close", cb),
    stdout: (d) => send(1, d),
    stderr: (d) => send(2, d),
    finish: (status) => {
      send(3, JSON.stringify(status));
      ws.close(1000);
    },
  };
}
