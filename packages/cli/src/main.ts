#!/usr/bin/env node
import { createInterface } from "node:readline/promises";
import { runCli, runsUntilInterrupted } from "./cli.js";

// A closed pipe (`kubemu logs x | head`) is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

const interrupt = new AbortController();
const argv = process.argv.slice(2);
// Only `logs -f` and `etcd watch` run until interrupted; every other command keeps Ctrl-C's default behaviour.
if (runsUntilInterrupted(argv)) process.once("SIGINT", () => interrupt.abort());

const code = await runCli(argv, {
  io: {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    isTTY: process.stdout.isTTY === true,
  },
  interrupt: interrupt.signal,
  ...(process.stdin.isTTY ? { ask: ttyAsk } : {}),
});
// Let pending writes (stdout, the CLI log) drain instead of calling process.exit.
process.exitCode = code;

/** One line from the terminal (minikube's prompts, e.g. `addons enable metallb`). */
async function ttyAsk(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(prompt);
  } finally {
    rl.close();
  }
}
