/**
 * The Raft simulator CLI:
 *   npm run sim -- --seeds N --start S [--nodes 3|5] [--ticks T] [--trace]
 * Prints each failing seed with a replay command and ends with `SIM seeds=<N> violations=<V>`;
 * exits non-zero when V > 0.
 */
import { availableParallelism } from "node:os";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type SimResult, runSeed } from "./cluster.js";

interface Args {
  seeds: number;
  start: number;
  nodes: 3 | 5 | undefined;
  ticks: number;
  trace: boolean;
  verbose: boolean;
  jobs: number;
}

export const DEFAULT_TICKS = 500;

function usage(msg: string): never {
  process.stderr.write(`sim: ${msg}\nusage: npm run sim -- --seeds N --start S [--nodes 3|5] [--ticks T] [--jobs J] [--trace] [--verbose]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: 100, start: 1, nodes: undefined, ticks: DEFAULT_TICKS, trace: false, verbose: false, jobs: Math.min(2, availableParallelism()) };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const intArg = (): number => {
      const v = argv[++i];
      if (v === undefined || !/^-?\d+$/.test(v)) usage(`${flag} needs an integer`);
      return Number(v);
    };
    switch (flag) {
      case "--seeds":
        a.seeds = intArg();
        if (a.seeds < 1) usage("--seeds must be at least 1");
        break;
      case "--start":
        a.start = intArg();
        break;
      case "--nodes": {
        const n = intArg();
        if (n !== 3 && n !== 5) usage("--nodes must be 3 or 5");
        a.nodes = n;
        break;
      }
      case "--ticks":
        a.ticks = intArg();
        if (a.ticks < 1) usage("--ticks must be positive");
        break;
      case "--jobs":
        a.jobs = intArg();
        if (a.jobs < 1) usage("--jobs must be at least 1");
        break;
      case "--trace":
        a.trace = true;
        break;
      case "--verbose":
        a.verbose = true;
        break;
      default:
        usage(`unknown argument ${flag}`);
    }
  }
  return a;
}

/** The node count for a seed when --nodes is not given: a deterministic mix of 3 and 5. */
export function nodesForSeed(seed: number): 3 | 5 {
  return Math.abs(seed) % 2 === 0 ? 3 : 5;
}

interface Job {
  seeds: number[];
  args: Args;
}

function runJob(job: Job): SimResult[] {
  return job.seeds.map((s) => runSeed({ seed: s, nodes: job.args.nodes ?? nodesForSeed(s), ticks: job.args.ticks, traceLines: job.args.trace }));
}

/** Runs the seeds in `jobs` child processes (each seed is independent, so results do not depend on it). */
async function runAll(args: Args): Promise<SimResult[]> {
  const seeds = Array.from({ length: args.seeds }, (_, i) => args.start + i);
  const jobs = Math.min(args.jobs, seeds.length);
  if (jobs <= 1) return runJob({ seeds, args });
  const parts: number[][] = Array.from({ length: jobs }, () => []);
  seeds.forEach((s, i) => parts[i % jobs]!.push(s));
  const results = await Promise.all(
    parts.map(
      (part) =>
        new Promise<SimResult[]>((resolve, reject) => {
          // A forked child inherits the tsx loader through execArgv; it runs one job and exits.
          const child = fork(fileURLToPath(import.meta.url), ["--child"], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
          let got: SimResult[] | undefined;
          child.once("message", (r) => {
            got = r as SimResult[];
          });
          child.once("error", reject);
          child.once("exit", (code) => (code === 0 && got ? resolve(got) : reject(new Error(`simulator child exited with code ${code}`))));
          child.send({ seeds: part, args } satisfies Job);
        }),
    ),
  );
  return results.flat().sort((a, b) => a.seed - b.seed);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  let violations = 0;
  let failedSeeds = 0;
  let exhausted = 0;
  const totals = { events: 0, ops: 0, acked: 0, crashes: 0, confChanges: 0, transfers: 0, snapshotsSent: 0, elections: 0, lostRecords: 0, maxHealTicks: 0 };
  for (const res of await runAll(args)) {
    const s = res.seed;
    const nodes = res.nodes;
    totals.events += res.stats.events;
    totals.ops += res.stats.ops;
    totals.acked += res.stats.acked;
    totals.crashes += res.stats.crashes;
    totals.confChanges += res.stats.confChanges;
    totals.transfers += res.stats.transfers;
    totals.snapshotsSent += res.stats.snapshotsSent;
    totals.elections += res.stats.elections;
    totals.lostRecords += res.stats.lostRecords;
    totals.maxHealTicks = Math.max(totals.maxHealTicks, res.stats.healTicksToLeader);
    if (res.stats.linearizabilityExhausted) exhausted++;
    if (args.trace && res.trace) process.stdout.write(res.trace.join("\n") + "\n");
    if (args.verbose) process.stdout.write(`seed ${s} nodes=${nodes} hash=${res.traceHash} ${JSON.stringify(res.stats)}\n`);
    if (res.violations.length > 0) {
      failedSeeds++;
      violations += res.violations.length;
      process.stdout.write(`FAIL seed=${s} nodes=${nodes}: ${res.violations[0]}\n`);
      for (const v of res.violations.slice(1, 5)) process.stdout.write(`    ${v}\n`);
      process.stdout.write(`  replay: npm run sim -- --seeds 1 --start ${s} --nodes ${nodes} --ticks ${args.ticks} --trace\n`);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(
    `stats events=${totals.events} ops=${totals.ops} acked=${totals.acked} crashes=${totals.crashes} conf_changes=${totals.confChanges} transfers=${totals.transfers} snapshots_sent=${totals.snapshotsSent} elections=${totals.elections} torn_records=${totals.lostRecords} max_heal_ticks_to_leader=${totals.maxHealTicks} lin_exhausted=${exhausted} failed_seeds=${failedSeeds}\n`,
  );
  process.stdout.write(`seconds=${secs.toFixed(1)} jobs=${Math.min(args.jobs, args.seeds)} seeds_per_sec=${(args.seeds / secs).toFixed(1)}\n`);
  process.stdout.write(`SIM seeds=${args.seeds} violations=${violations}\n`);
  process.exitCode = violations > 0 ? 1 : 0;
}

if (process.argv[2] === "--child") {
  process.once("message", (job) => {
    process.send!(runJob(job as Job), () => process.disconnect());
  });
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`sim: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  });
}
