/**
 * A backend for the network benchmark, run as its own process ("the pod"), on <ip>:
 *   <rrPort>   echoes every byte back (request/response);
 *   <bulkPort> sends <bulkBytes> bytes to each new connection and closes it;
 *   <pullPort> sends <bulkBytes> bytes for every byte it receives (transfers over an open connection).
 * Usage: net-backend.ts <ip> <rrPort> <bulkPort> <pullPort> <bulkBytes>.
 */
import { createServer } from "node:net";

const [ip, rrPort, bulkPort, pullPort, bulkBytes] = process.argv.slice(2);
if (!ip || !rrPort || !bulkPort || !pullPort || !bulkBytes) {
  console.error("usage: net-backend.ts <ip> <rrPort> <bulkPort> <pullPort> <bulkBytes>");
  process.exit(2);
}
const payload = Buffer.alloc(Number(bulkBytes), 0x61);
const listen = (port: string, onConn: Parameters<typeof createServer>[1]) =>
  new Promise<void>((resolve) => createServer({ noDelay: true }, onConn).listen(Number(port), ip, resolve));
await listen(rrPort, (s) => {
  s.on("error", () => undefined);
  s.pipe(s);
});
await listen(bulkPort, (s) => {
  s.on("error", () => undefined);
  s.end(payload);
});
await listen(pullPort, (s) => {
  s.on("error", () => undefined);
  s.on("data", (d: Buffer) => {
    for (let i = 0; i < d.length; i++) s.write(payload);
  });
});
console.log("ready");
