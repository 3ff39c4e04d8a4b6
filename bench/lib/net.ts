/** Loopback address helpers for benchmarks. */
import { createServer } from "node:net";

/** True if ip:port can be bound right now. */
export function canBind(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

/**
 * A base port such that base..base+span-1 are free on every ip (each member uses the same ports
 * on its own IP, like the real cluster's 2379/2380).
 */
export async function freePortBlock(ips: string[], span: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + span * Math.floor(Math.random() * (20_000 / span));
    const checks = await Promise.all(ips.flatMap((ip) => Array.from({ length: span }, (_, d) => canBind(ip, base + d))));
    if (checks.every(Boolean)) return base;
  }
  throw new Error(`no block of ${span} free ports on ${ips.join(", ")}`);
}
