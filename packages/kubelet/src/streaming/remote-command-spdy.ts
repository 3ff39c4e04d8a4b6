/**
 * exec and attach over plain SPDY/3.1 (kubectl's fallback, KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false,
 * and what kubectl before 1.30 speaks): `X-Stream-Protocol-Version` v5/v4.channel.k8s.io, then the
 * client opens one stream per channel (`streamtype: error|stdin|stdout|stderr|resize`). As upstream's
 * remotecommand server, the session starts once every stream the request asked for is open (30 s
 * at most); stdin's FIN is the close of stdin, resizes are JSON objects one per line, and the end is
 * FIN on stdout/stderr, then the Status JSON on the error stream, then the connection closes.
 * The result is the transport-neutral `RemoteCommandStreams` exec and attach run on.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { finished } from "node:stream/promises";
import type { Logger } from "@kubemu/common";
import { parseResize, type CarrierOptions, type RemoteCommandStreams, type TerminalSize } from "./channels.js";
import { OutputBudget } from "./output-budget.js";
import { SpdySession, type SpdyStream } from "./spdy/session.js";
import { acceptSpdy } from "./upgrade.js";

/** The protocols served over SPDY, best first (v1–v3 put plain text on the error stream: not served). */
export const SPDY_CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface RemoteCommandFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

type StreamType = "error" | "stdin" | "stdout" | "stderr" | "resize";

/** The stream types a request expects, as upstream counts them. */
export function expectedStreams(f: RemoteCommandFlags): StreamType[] {
  return ["error", ...(f.stdin ? ["stdin" as const] : []), ...(f.stdout ? ["stdout" as const] : []), ...(f.stderr && !f.tty ? ["stderr" as const] : []), ...(f.tty ? ["resize" as const] : [])];
}

/**
 * Switches the connection to SPDY and calls ready with the session's streams once the client has
 * opened them all. Refuses (403) a client that offers none of the served protocols.
 */
export function acceptSpdyRemoteCommand(req: IncomingMessage, socket: Duplex, head: Buffer, f: RemoteCommandFlags, log: Logger, ready: (streams: RemoteCommandStreams) => void, o: CarrierOptions = {}): void {
  if (acceptSpdy(req, socket, head, SPDY_CHANNEL_PROTOCOLS) === undefined) return;
  (socket as Partial<Socket>).setNoDelay?.(true);
  const wanted = new Set(expectedStreams(f));
  const got = new Map<StreamType, SpdyStream>();
  let started = false;
  const session: SpdySession = new SpdySession(socket, {
    log,
    ...(o.idle ? { idle: o.idle } : {}),
    onStream: (s) => {
      const type = s.header("streamtype");
      if (!type || !wanted.has(type as StreamType)) return `unexpected stream type: "${type ?? ""}"`;
      if (got.has(type as StreamType)) return `a ${type} stream is open already`;
      got.set(type as StreamType, s);
      if (!started && got.size === wanted.size) {
        started = true;
        clearTimeout(timer);
        setImmediate(() => ready(spdyStreams(session, socket, got, o.output ?? new OutputBudget())));
      }
      return undefined;
    },
  });
  const timer = setTimeout(() => {
    log.info({ streams: [...got.keys()] }, "timed out waiting for client to create streams");
    session.close();
  }, STREAM_CREATION_TIMEOUT_MS);
  socket.once("close", () => clearTimeout(timer));
}

function spdyStreams(session: SpdySession, socket: Duplex, s: Map<StreamType, SpdyStream>, output: OutputBudget): RemoteCommandStreams {
  const error = s.get("error")!;
  const stdout = s.get("stdout");
  const stderr = s.get("stderr");
  // The client writes nothing on these; drain them so that their FIN is seen.
  error.resume();
  stdout?.resume();
  stderr?.resume();
  const closeWaiters: (() => void)[] = [];
  let closed = false;
  const onGone = () => {
    if (closed) return;
    closed = true;
    closeWaiters.splice(0).forEach((cb) => cb());
  };
  socket.once("close", onGone);
  // A stream's write calls back once the session has handed its frames to a socket that is not
  // backed up (spdy/session.ts), so what is not called back yet is the client's backlog.
  const send = (st: SpdyStream | undefined, d: Buffer): boolean => {
    if (!st?.writable) return true;
    const below = output.add(d.length);
    st.write(d, () => output.done(d.length));
    return below;
  };
  return {
    onStdin: (cb) => s.get("stdin")?.on("data", (d: Buffer) => cb(d)),
    onStdinClose: (cb) => s.get("stdin")?.on("end", cb),
    onResize: (cb) => {
      const resize = s.get("resize");
      if (!resize) return;
      let buffered = "";
      resize.on("data", (d: Buffer) => {
        buffered += d.toString("utf8");
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const size: TerminalSize | undefined = parseResize(Buffer.from(buffered.slice(0, nl)));
          buffered = buffered.slice(nl + 1);
          if (size) cb(size);
        }
      });
    },
    onClose: (cb) => (closed ? cb() : closeWaiters.push(cb)),
    stdout: (d) => send(stdout, d),
    stderr: (d) => send(stderr, d),
    onDrain: (cb) => output.onDrain(cb),
    output,
    finish: (status) => {
      // Output first (all of it handed to the connection), then the Status, then the connection closes.
      const ended = (st: SpdyStream | undefined, last?: string): Promise<void> => {
        if (!st || st.destroyed || st.writableEnded) return Promise.resolve();
        const done = finished(st, { readable: false }).catch(() => undefined);
        if (last === undefined) st.end();
        else st.end(last);
        return done;
      };
      void Promise.all([ended(stdout), ended(stderr)])
        .then(() => ended(error, JSON.stringify(status)))
        .then(() => session.close());
    },
  };
}
