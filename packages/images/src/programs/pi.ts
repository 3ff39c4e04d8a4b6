/**
 * kiamol/ch05-pi (`dotnet Pi.Web.dll`): `-m console -dp N` prints pi to N decimal places and
 * exits; `-m web` (the default) serves it on $POD_IP:80 (`/?dp=N`).
 */
import { createServer } from "node:http";
import { listen, onStop } from "./lib.js";

/** Pi to n decimal places (Gibbons' unbounded spigot on BigInt). */
export function piDigits(n: number): string {
  let q = 1n, r = 0n, t = 1n, k = 1n, m = 3n, x = 3n;
  let out = "";
  while (out.length < n + 1) {
    if (4n * q + r - t < m * t) {
      out += m.toString();
      const nr = 10n * (r - m * t);
      m = (10n * (3n * q + r)) / t - 10n * m;
      q *= 10n;
      r = nr;
    } else {
      const nr = (2n * q + r) * x;
      const nm = (q * (7n * k + 2n) + r * x) / (t * x);
      q *= k;
      t *= x;
      x += 2n;
      k += 1n;
      m = nm;
      r = nr;
    }
  }
  return `${out[0]}.${out.slice(1, n + 1)}`;
}

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const mode = opt("-m") ?? "web";
const dp = Math.min(Number(opt("-dp") ?? "6"), 10_000);
if (mode === "console") {
  process.stdout.write(`${piDigits(dp)}\n`);
} else {
  const server = createServer((req, res) => {
    const q = Number(new URL(req.url ?? "/", "http://pi").searchParams.get("dp") ?? dp);
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<html><body><h1>Pi.Web</h1><p>To: ${q} d.p.</p><p>${piDigits(Math.min(q, 10_000))}</p></body></html>\n`);
  });
  listen(server, 80, () => undefined);
  onStop(() => process.exit(0));
}
