import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { prettyFactory } from "pino-pretty";
import { readClusterState } from "../cluster-state.js";
import { clusterTable, defaultNodeCount } from "../components.js";
import type { CommandContext } from "../context.js";
import { CliError } from "../errors.js";
import { validNames } from "../select.js";

/** Options of `kubemu logs`. */
export interface LogsOptions {
  follow: boolean;
  /** Print only the last N lines first (undefined: all). */
  tail?: number;
  /** Ends -f (the CLI aborts it on SIGINT). */
  signal?: AbortSignal;
  /** How often -f looks for new lines. */
  pollMs?: number;
}

const cliLogName = "kubemu-cli";

/**
 * `kubemu logs NAME [-f] [--tail N]`: prints `<state>/logs/<name>.log` (the component's pino JSON,
 * pretty-printed when stdout is a terminal), or `<name>.out` (captured stdout/stderr) when there is
 * no .log. Works after `down` too. -f keeps printing new lines until the signal aborts.
 */
export async function logs(ctx: CommandContext, name: string, opts: LogsOptions): Promise<number> {
  const state = readClusterState(ctx.paths);
  // Without cluster.json, accept the built-in table's names so logs of a past cluster stay readable.
  const known = state?.processes ?? clusterTable({ cluster: ctx.cluster, nodeCount: defaultNodeCount, apiserverLbPort: 1, apiserverLbControlPort: 1, pki: null });
  if (name !== cliLogName && !known.some((p) => p.name === name)) {
    throw new CliError(`unknown process "${name}" (valid: ${validNames([...known, { name: cliLogName }])})`);
  }
  const jsonLog = ctx.paths.logFile(name);
  const outLog = ctx.paths.outFile(name);
  const file = existsSync(jsonLog) ? jsonLog : existsSync(outLog) ? outLog : undefined;
  if (file === undefined) throw new CliError(`no logs for ${name} yet (neither ${jsonLog} nor ${outLog} exists)`);

  const pretty = file === jsonLog && ctx.io.isTTY ? prettyFactory({ colorize: true }) : undefined;
  const emit = (line: string) => ctx.io.out(pretty ? pretty(line).replace(/\n$/, "") : line);
  const follower = new LineReader(file);
  try {
    const lines = follower.readNewLines();
    for (const line of opts.tail === undefined ? lines : lines.slice(Math.max(0, lines.length - opts.tail))) emit(line);
    if (!opts.follow) {
      const rest = follower.flushPartial();
      if (rest !== undefined) emit(rest);
      return 0;
    }
    const pollMs = opts.pollMs ?? 200;
    while (!opts.signal?.aborted) {
      try {
        await ctx.clock.sleep(pollMs, opts.signal);
      } catch {
        break; // aborted
      }
      for (const line of follower.readNewLines()) emit(line);
    }
    return 0;
  } finally {
    follower.close();
  }
}

/** Reads a growing file line by line from where it left off; starts over if the file shrinks. */
class LineReader {
  private readonly fd: number;
  private position = 0;
  private partial = "";
  // Keeps a multi-byte character that straddles two reads whole.
  private decoder = new StringDecoder("utf8");

  constructor(path: string) {
    this.fd = openSync(path, "r");
  }

  /** Complete lines appended since the last call. */
  readNewLines(): string[] {
    const size = fstatSync(this.fd).size;
    if (size < this.position) {
      this.position = 0; // truncated or replaced in place
      this.partial = "";
      this.decoder = new StringDecoder("utf8");
    }
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.position);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      this.position += n;
    }
    const text = this.partial + this.decoder.write(Buffer.concat(chunks));
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    return lines;
  }

  /** The unterminated last line, if any. */
  flushPartial(): string | undefined {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    return rest === "" ? undefined : rest;
  }

  close(): void {
    closeSync(this.fd);
  }
}
