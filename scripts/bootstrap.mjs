#!/usr/bin/env node
// Makes a fresh clone runnable: installs dependencies when node_modules is missing (`npm ci`:
// exactly package-lock.json) or older than the lockfile (`npm install`: adds and removes what
// changed, at the locked versions), and rebuilds dist/ when any package source is newer than its
// build.
// Uses only Node built-ins so it can run before any dependency is installed.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const quiet = process.argv.includes("--quiet");
const say = (msg) => quiet || process.stderr.write(`bootstrap: ${msg}\n`);
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

function newestUnder(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"] });

const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed)) {
  say("installing dependencies (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
} else if (mtime(installed) < mtime(join(root, "package-lock.json"))) {
  say("updating dependencies to the lockfile (npm install)");
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"]);
}

const packagesDir = join(root, "packages");
const stale = readdirSync(packagesDir).some((pkg) => {
  const dir = join(packagesDir, pkg);
  const built = mtime(join(dir, "dist", ".tsbuildinfo"));
  return built === 0 || newestUnder(join(dir, "src")) > built || mtime(join(dir, "tsconfig.json")) > built;
});
if (stale) {
  say("building (tsc -b)");
  run(join(root, "node_modules", ".bin", "tsc"), ["-b"]);
}
