/**
 * A backend for the network benchmark, run as its own process ("the pod"): on <ip>:<rrPort> it
 * echoes every byte back (request/response), on <ip>:<bulkPort> it sends <bulkBytes> bytes to
 * each new connection and closes it. Usage: net-backend.ts <ip> <rrPort> <bulkPort> <bulkBytes>.
 */
import { createServer } from "node:net";

const [ip, rrPort, bulkPort, bulkBytes] = process.argv.slice(2);
if (!ip || !rrPort || !bulkPort || !bulkBytes) {
  console.error("usage: net-backend.ts <ip> <rrPort> <bulkPort> <bulkBytes>");
  process.exit(2);
}
const payload = Buffer.alloc(Number(bulkBytes), 0x61);
const echo = createServer({ noDelay: true }, (s) => {
  s.on("error", () => undefined);
  s.pipe(s);
});
const bulk = createServer({ noDelay: true }, (s) => {
  s.on("error", () => undefined);
  s.end(payload);
});
echo.listen(Number(rrPort), ip, () => bulk.listen(Number(bulkPort), ip, () => console.log("ready")));
