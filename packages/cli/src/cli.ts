import { existsSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { logLevels, realClock, type Clock } from "@kubemu/common";
import { compose } from "./commands/compose.js";
import { addonsConfigure, addonsDisable, addonsEnable, addonsList } from "./commands/addons.js";
import { down } from "./commands/down.js";
import { heal, partition } from "./commands/faults.js";
import { kill, restart, start, stop, type LifecycleOptions } from "./commands/lifecycle.js";
import { logs } from "./commands/logs.js";
import { status } from "./commands/status.js";
import { up } from "./commands/up.js";
import { defaultNodeCount, maxNodeCount } from "./components.js";
import { makeContext, type CommandContext, type Output } from "./context.js";
import { CliError, errorMessage } from "./errors.js";
import { addEtcdCommands } from "./etcd/cli.js";
import { userKubeconfigPath } from "./kubeconfig.js";
import { parseProfile, profiles } from "./spec.js";
import { parseClusterName, resolveStateDir } from "./state-dir.js";

/** Default SIGTERM grace period for down/stop/restart, in seconds. */
export const defaultGraceSeconds = 10;
/** Default time up/start/restart wait for each process to answer on its control URL, in seconds. */
export const defaultWaitSeconds = 10;

/** What runCli needs from its surroundings (so tests can run it in-process). */
export interface CliEnvironment {
  io: Output;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Signal that ends `logs -f` and `etcd watch` (main wires it to SIGINT). */
  interrupt?: AbortSignal;
  /** Asks a question on the terminal (`addons enable metallb`); main sets it only when stdin is a TTY. */
  ask?: (prompt: string) => Promise<string>;
}

function seconds(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 3600) throw new InvalidArgumentError(`${flag} takes seconds from 0 to 3600`);
    return n;
  };
}

function integer(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}`);
    return n;
  };
}

interface GlobalFlags {
  stateDir?: string;
  cluster: string;
  profile?: string;
  logLevel?: string;
}

function contextFrom(cmd: Command, envIn: CliEnvironment): CommandContext {
  const g = cmd.optsWithGlobals<GlobalFlags>();
  const cluster = parseClusterName(g.cluster);
  const logLevel = g.logLevel ?? (envIn.env ?? process.env).KUBEMU_LOG_LEVEL ?? "info";
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new CliError(`unknown log level "${logLevel}" (use one of ${logLevels.join(", ")})`);
  }
  return makeContext({
    cluster,
    stateDir: resolveStateDir({ stateDir: g.stateDir, cluster, env: envIn.env }),
    profile: parseProfile(g.profile ?? "fast"),
    profileExplicit: g.profile !== undefined,
    logLevel,
    clock: envIn.clock ?? realClock,
    io: envIn.io,
  });
}

/** Builds the commander program; each action stores its exit code in `result.code`. */
export function buildProgram(envIn: CliEnvironment, result: { code: number }): Command {
  const program = new Command("kubemu")
    .description("Run and operate a multi-process Kubernetes emulator cluster on this machine")
    .option("--state-dir <dir>", "cluster state directory (default: $KUBEMU_HOME, else ~/.kubemu/<cluster>)")
    .option("--cluster <name>", "cluster name; also the first node's name", "kubemu")
    .addOption(new Option("--profile <profile>", "timing profile (default: fast)").choices(profiles))
    .addOption(new Option("--log-level <level>", "log level for the CLI and every process (default: $KUBEMU_LOG_LEVEL, else info)").choices(logLevels))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => envIn.io.out(s.replace(/\n$/, "")),
      writeErr: (s) => envIn.io.err(s.replace(/\n$/, "")),
      outputError: () => undefined, // runCli prints errors as one `kubemu: ...` line
    });

  const graceOption = () => new Option("--grace <seconds>", "SIGTERM grace period before SIGKILL").argParser(seconds("--grace")).default(defaultGraceSeconds);
  const waitOption = () => new Option("--wait <seconds>", "how long to wait for each process to answer on its control URL").argParser(seconds("--wait")).default(defaultWaitSeconds);
  const lifecycle = (o: { grace?: number; wait?: number }): LifecycleOptions => ({ graceMs: (o.grace ?? defaultGraceSeconds) * 1000, waitMs: (o.wait ?? defaultWaitSeconds) * 1000 });
  const run = (fn: (ctx: CommandContext, cmd: Command) => Promise<number>) => async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    result.code = await fn(contextFrom(cmd, envIn), cmd);
  };

  program
    .command("up")
    .description("start every built component detached; on a running cluster, start whatever is not running")
    .option("--spec <file>", "YAML/JSON list of processes to run instead of the built-in table")
    .addOption(new Option("--nodes <n>", "number of nodes").argParser(integer("--nodes", 1, maxNodeCount)).default(defaultNodeCount))
    .addOption(waitOption())
    .option("--no-merge-kubeconfig", "do not add the cluster's context to kubectl's kubeconfig ($KUBECONFIG or ~/.kube/config)")
    .option("--insecure-http", "TEST-ONLY: serve the API over plain HTTP with no authentication (anyone on the host has full access) instead of HTTPS with a generated CA and client certificates")
    .action(run((ctx, cmd) => {
      const o = cmd.opts<{ spec?: string; nodes: number; wait: number; mergeKubeconfig: boolean; insecureHttp?: boolean }>();
      return up(ctx, {
        insecureHttp: o.insecureHttp === true,
        ...(o.spec !== undefined ? { specFile: o.spec } : {}),
        ...(o.mergeKubeconfig ? { mergeKubeconfigInto: userKubeconfigPath(envIn.env ?? process.env) } : {}),
        nodes: o.nodes,
        waitMs: o.wait * 1000,
      });
    }));

  program
    .command("compose")
    .description("write docker-compose.yml (every component a container; one image from the Dockerfile) and compose-state/{pki,kubeconfig} beside it")
    .addOption(new Option("--nodes <n>", "number of nodes").argParser(integer("--nodes", 1, maxNodeCount)).default(defaultNodeCount))
    .option("-o, --output <file>", "where to write the compose file (default: docker-compose.yml at the repo root)")
    .action(run((ctx, cmd) => {
      const o = cmd.opts<{ nodes: number; output?: string }>();
      return compose(ctx, { nodes: o.nodes, ...(o.output !== undefined ? { output: o.output } : {}) });
    }));

  program
    .command("kubeconfig")
    .description("print the path of the cluster's kubeconfig (use: export KUBECONFIG=$(kubemu kubeconfig))")
    .action(run(async (ctx) => {
      if (!existsSync(ctx.paths.kubeconfig)) throw new CliError(`no kubeconfig yet: the API server of cluster "${ctx.cluster}" has not been started (run \`kubemu up\`)`);
      ctx.io.out(ctx.paths.kubeconfig);
      return 0;
    }));

  program
    .command("down")
    .description("stop every process this cluster started (by recorded pid), keeping data and logs")
    .addOption(graceOption())
    .action(run((ctx, cmd) => down(ctx, { graceMs: cmd.opts<{ grace: number }>().grace * 1000 })));

  program
    .command("status")
    .description("show each process: pid, state, role, addresses")
    .option("-o, --output <format>", "table or json", "table")
    .action(run((ctx, cmd) => status(ctx, cmd.opts<{ output: string }>().output)));

  program
    .command("kill")
    .description("SIGKILL processes (a node name means its kubelet and kube-proxy)")
    .argument("<name...>")
    .action(run((ctx, cmd) => kill(ctx, cmd.args, lifecycle({}))));

  program
    .command("stop")
    .description("SIGTERM processes, then SIGKILL after the grace period")
    .argument("<name...>")
    .addOption(graceOption())
    .action(run((ctx, cmd) => stop(ctx, cmd.args, lifecycle(cmd.opts()))));

  program
    .command("start")
    .description("start stopped processes with their recorded command lines")
    .argument("<name...>")
    .addOption(waitOption())
    .action(run((ctx, cmd) => start(ctx, cmd.args, lifecycle(cmd.opts()))));

  program
    .command("restart")
    .description("stop, then start processes")
    .argument("<name...>")
    .addOption(graceOption())
    .addOption(waitOption())
    .action(run((ctx, cmd) => restart(ctx, cmd.args, lifecycle(cmd.opts()))));

  program
    .command("logs")
    .description("print a process's log (<state>/logs/<name>.log, else <name>.out)")
    .argument("<name>")
    .option("-f, --follow", "keep printing new lines until interrupted", false)
    .addOption(new Option("--tail <lines>", "print only the last N lines first").argParser(integer("--tail", 0, 10_000_000)))
    .action(run((ctx, cmd) => {
      const o = cmd.opts<{ follow: boolean; tail?: number }>();
      return logs(ctx, cmd.args[0]!, { follow: o.follow, ...(o.tail !== undefined ? { tail: o.tail } : {}), ...(envIn.interrupt ? { signal: envIn.interrupt } : {}) });
    }));

  program
    .command("partition")
    .description("cut NAME... off from the --from processes, both directions")
    .argument("<name...>")
    .requiredOption("--from <name...>", "the other side of the partition")
    .action(run((ctx, cmd) => partition(ctx, cmd.args, cmd.opts<{ from: string[] }>().from)));

  program
    .command("heal")
    .description("clear the fault rules of every running process")
    .action(run((ctx) => heal(ctx)));

  const addons = program.command("addons").description("enable or disable a kubemu addon (minikube's `addons` command)");
  addons
    .command("list")
    .description("list all available addons and their status in this cluster")
    .option("-o, --output <format>", "list or json", "list")
    .action(run(async (ctx, cmd) => addonsList(ctx, cmd.opts<{ output: string }>().output)));
  addons
    .command("enable")
    .description("create the addon's objects in the cluster (metallb asks for its address range on a terminal)")
    .argument("<name>")
    .option("--start-ip <ip>", "metallb: first address of the pool (default 127.240.0.100)")
    .option("--end-ip <ip>", "metallb: last address of the pool (default 127.240.0.200)")
    .action(run((ctx, cmd) => {
      const o = cmd.opts<{ startIp?: string; endIp?: string }>();
      const answers = { ...(o.startIp !== undefined ? { startIP: o.startIp } : {}), ...(o.endIp !== undefined ? { endIP: o.endIp } : {}) };
      return addonsEnable(ctx, cmd.args[0]!, { answers, ...(envIn.ask ? { ask: envIn.ask } : {}) });
    }));
  addons
    .command("configure")
    .description("ask an addon's settings again and apply them (metallb: the address pool)")
    .argument("<name>")
    .option("--start-ip <ip>", "metallb: first address of the pool")
    .option("--end-ip <ip>", "metallb: last address of the pool")
    .action(run((ctx, cmd) => {
      const o = cmd.opts<{ startIp?: string; endIp?: string }>();
      const answers = { ...(o.startIp !== undefined ? { startIP: o.startIp } : {}), ...(o.endIp !== undefined ? { endIP: o.endIp } : {}) };
      return addonsConfigure(ctx, cmd.args[0]!, { answers, ...(envIn.ask ? { ask: envIn.ask } : {}) });
    }));
  addons
    .command("disable")
    .description("delete the addon's objects from the cluster")
    .argument("<name>")
    .action(run((ctx, cmd) => addonsDisable(ctx, cmd.args[0]!)));

  addEtcdCommands(program, run, envIn.interrupt);
  return program;
}

/** Flags (global or of `etcd`) that take a value, so their values are not mistaken for command words. */
const flagsWithValues = new Set(["--state-dir", "--cluster", "--profile", "--log-level", "--endpoints", "--command-timeout"]);

/** True for the commands that run until Ctrl-C: `logs` (with -f) and `etcd watch`. */
export function runsUntilInterrupted(argv: readonly string[]): boolean {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a.startsWith("-")) {
      if (flagsWithValues.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  return words[0] === "logs" || (words[0] === "etcd" && words[1] === "watch");
}

/** Turns commander's "error: ..." (possibly with a suggestion line) into one line. */
function oneLine(message: string): string {
  return message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim();
}

/**
 * Runs the CLI on argv (without node and script) and returns the exit code. Every user mistake
 * becomes one `kubemu: ...` line on stderr and exit code 1; help exits 0.
 */
export async function runCli(argv: string[], envIn: CliEnvironment): Promise<number> {
  const result = { code: 0 };
  const program = buildProgram(envIn, result);
  try {
    await program.parseAsync(argv, { from: "user" });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help was already printed: on stdout for --help (exit 0), on stderr for a missing command (exit 1).
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return e.exitCode;
      envIn.io.err(`kubemu: ${oneLine(e.message)}`);
      return 1;
    }
    if (e instanceof CliError) {
      envIn.io.err(`kubemu: ${e.message}`);
      return e.exitCode;
    }
    envIn.io.err(`kubemu: internal error: ${oneLine(errorMessage(e))}`);
    return 1;
  }
}
