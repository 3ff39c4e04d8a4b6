import { Command, InvalidArgumentError, Option } from "commander";
import type { CommandContext } from "../context.js";
import { etcdDel, etcdEndpointStatus, etcdGet, etcdMemberList, etcdPut, etcdSnapshotSave, etcdWatch, type EtcdTarget } from "./commands.js";
import { resolveEndpoints, storeClientTls } from "./endpoints.js";
import { parseWriteFormat, writeFormats, type WriteFormat } from "./format.js";

/** Default per-command deadline, like etcdctl's --command-timeout=5s. */
export const defaultEtcdCommandTimeoutSeconds = 5;

type Action = (fn: (ctx: CommandContext, cmd: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>;

interface EtcdFlags {
  endpoints?: string;
  commandTimeout: number;
}

function revision(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a revision, a whole number from 1`);
    return n;
  };
}

function timeoutSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError("--command-timeout takes seconds, more than 0 and at most 3600");
  return n;
}

function target(ctx: CommandContext, cmd: Command): EtcdTarget {
  const o = cmd.optsWithGlobals<EtcdFlags>();
  return { endpoints: resolveEndpoints(ctx, o.endpoints), timeoutMs: o.commandTimeout * 1000, tls: storeClientTls(ctx.paths.pkiDir) };
}

const writeOption = (allowed: readonly WriteFormat[], def: WriteFormat) =>
  new Option("-w, --write-out <format>", `output format (${allowed.join(", ")})`).default(def).argParser((v) => parseWriteFormat(v, allowed));

/**
 * Adds `kubemu etcd ...` (get, put, del, watch, member list, endpoint status, snapshot save) to
 * the program. `interrupt` ends `watch`.
 */
export function addEtcdCommands(program: Command, run: Action, interrupt: AbortSignal | undefined): void {
  const etcd = program
    .command("etcd")
    .description("etcdctl-like commands against the cluster's store (endpoints from <state>/cluster.json)")
    .option("--endpoints <urls>", "comma-separated member client URLs (ws://IP:PORT, wss://IP:PORT) instead of cluster.json")
    .addOption(new Option("--command-timeout <seconds>", "deadline of each request, retries included").argParser(timeoutSeconds).default(defaultEtcdCommandTimeoutSeconds));

  etcd
    .command("get")
    .description("print a key (or every key with a prefix): key line, then value line")
    .argument("<key>")
    .option("--prefix", "get every key with this prefix", false)
    .option("--keys-only", "print only the keys", false)
    .addOption(new Option("--rev <n>", "read at this revision").argParser(revision("--rev")))
    .addOption(new Option("--limit <n>", "at most this many keys").argParser(revision("--limit")))
    .addOption(writeOption(["simple", "json"], "simple"))
    .action(run((ctx, cmd) => {
      const o = cmd.opts<{ prefix: boolean; keysOnly: boolean; rev?: number; limit?: number; writeOut: WriteFormat }>();
      return etcdGet(ctx, target(ctx, cmd), cmd.args[0]!, {
        prefix: o.prefix,
        keysOnly: o.keysOnly,
        write: o.writeOut,
        ...(o.rev !== undefined ? { rev: o.rev } : {}),
        ...(o.limit !== undefined ? { limit: o.limit } : {}),
      });
    }));

  etcd
    .command("put")
    .description("write a key")
    .argument("<key>")
    .argument("<value>")
    .action(run((ctx, cmd) => etcdPut(ctx, target(ctx, cmd), cmd.args[0]!, cmd.args[1]!)));

  etcd
    .command("del")
    .description("delete a key (or every key with a prefix); prints how many were deleted")
    .argument("<key>")
    .option("--prefix", "delete every key with this prefix", false)
    .action(run((ctx, cmd) => etcdDel(ctx, target(ctx, cmd), cmd.args[0]!, cmd.opts<{ prefix: boolean }>().prefix)));

  etcd
    .command("watch")
    .description("print changes to a key (or prefix) until interrupted (Ctrl-C)")
    .argument("<key>")
    .option("--prefix", "watch every key with this prefix", false)
    .addOption(new Option("--rev <n>", "start from this revision (replays history)").argParser(revision("--rev")))
    .action(run((ctx, cmd) => {
      const o = cmd.opts<{ prefix: boolean; rev?: number }>();
      return etcdWatch(ctx, target(ctx, cmd), cmd.args[0]!, { prefix: o.prefix, ...(o.rev !== undefined ? { rev: o.rev } : {}), ...(interrupt ? { signal: interrupt } : {}) });
    }));

  etcd
    .command("member")
    .description("membership commands")
    .command("list")
    .description("list the members")
    .addOption(writeOption(writeFormats, "simple"))
    .action(run((ctx, cmd) => etcdMemberList(ctx, target(ctx, cmd), cmd.opts<{ writeOut: WriteFormat }>().writeOut)));

  etcd
    .command("endpoint")
    .description("per-member commands")
    .command("status")
    .description("each member's id, name, db size, leadership, raft term/index and revision")
    .addOption(writeOption(writeFormats, "simple"))
    .action(run((ctx, cmd) => etcdEndpointStatus(ctx, target(ctx, cmd), cmd.opts<{ writeOut: WriteFormat }>().writeOut)));

  etcd
    .command("snapshot")
    .description("snapshot commands")
    .command("save")
    .description("download a checked snapshot of the store into FILE")
    .argument("<file>")
    .action(run((ctx, cmd) => etcdSnapshotSave(ctx, target(ctx, cmd), cmd.args[0]!)));
}
