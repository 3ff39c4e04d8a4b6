/**
 * What every catalog program shares: the address to bind ($POD_IP, which the kubelet sets for
 * catalog programs; a program never binds 0.0.0.0, which would take the port from every pod on the
 * machine), stop signals, and the log timestamp formats of the programs they stand in for.
 */
import type { Server } from "node:http";

export function podIP(): string {
  return process.env.POD_IP || "127.0.0.1";
}

export function hostname(): string {
  return process.env.HOSTNAME || "localhost";
}

const p2 = (n: number) => String(n).padStart(2, "0");

/** Go's log package: "2006/01/02 15:04:05". */
export function goLogTime(d = new Date()): string {
  return `${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/** Calls fn once on SIGTERM, SIGINT or SIGQUIT. */
export function onStop(fn: (signal: NodeJS.Signals) => void): void {
  let done = false;
  for (const sig of ["SIGTERM", "SIGINT", "SIGQUIT"] as const) {
    process.on(sig, () => {
      if (done) return;
      done = true;
      fn(sig);
    });
  }
}

/** Listens on $POD_IP:port; a failure to bind is a line on stderr and exit 1, as a real server's. */
export function listen(server: Server, port: number, onListening: () => void): void {
  server.on("error", (e: NodeJS.ErrnoException) => {
    process.stderr.write(`listen ${podIP()}:${port}: ${e.code === "EADDRINUSE" ? "bind: address already in use" : e.message}\n`);
    process.exit(1);
  });
  server.listen(port, podIP(), onListening);
}

/** Closes the server and exits with code once in-flight requests end (at most 1 s). */
export function closeAndExit(server: Server, code: number): void {
  server.close(() => process.exit(code));
  server.closeIdleConnections();
  setTimeout(() => process.exit(code), 1000).unref();
}

/** The client address as Node reports it for an IPv4 peer (::ffff:10.244.0.1 on a dual-stack socket; here plain IPv4). */
export function remoteAddress(addr: string | undefined): string {
  return addr ?? "-";
}
