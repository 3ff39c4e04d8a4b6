/**
 * Benchmark dispatcher: `npm run bench -- <name> [args...]` runs bench/<name>.ts; with no name it
 * runs every benchmark in this folder. A benchmark is a module exporting
 * `run(args: string[]): Promise<void>` that prints a table, writes bench/results/<name>.json, and
 * ends its output with one line `BENCH <name> <json>`.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { basename, dirname, join } from "node:path";

interface Benchmark {
  run(args: string[]): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

function knownBenchmarks(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith(".ts") && f !== "main.ts" && !f.endsWith(".d.ts"))
    .map((f) => basename(f, ".ts"))
    .sort();
}

async function load(name: string): Promise<Benchmark> {
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as Partial<Benchmark>;
  if (typeof mod.run !== "function") throw new Error(`bench/${name}.ts does not export run(args)`);
  return mod as Benchmark;
}

async function main(argv: string[]): Promise<void> {
  const known = knownBenchmarks();
  const [name, ...args] = argv;
  if (name === "--help" || name === "-h") {
    console.log(`usage: npm run bench -- [name [args...]]\nbenchmarks: ${known.join(", ")}`);
    return;
  }
  if (name !== undefined) {
    if (!known.includes(name)) {
      console.error(`unknown benchmark "${name}" (known: ${known.join(", ")})`);
      process.exitCode = 2;
      return;
    }
    await (await load(name)).run(args);
    return;
  }
  for (const n of known) {
    console.log(`\n=== ${n} ===`);
    await (await load(n)).run([]);
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
