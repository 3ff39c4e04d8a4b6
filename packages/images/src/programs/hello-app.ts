/**
 * gcr.io/google-samples/hello-app: "Hello, world!", its version and the pod's hostname on
 * $POD_IP:$PORT (8080), logging as the Go sample does. argv: <version>.
 */
import { createServer } from "node:http";
import { goLogTime, hostname, listen, onStop } from "./lib.js";

const version = process.argv[2] ?? "1.0.0";
const port = Number(process.env.PORT || 8080);
const server = createServer((req, res) => {
  process.stdout.write(`${goLogTime()} Serving request: ${req.url}\n`);
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", Date: new Date().toUTCString() });
  res.end(`Hello, world!\nVersion: ${version}\nHostname: ${hostname()}\n`);
});
listen(server, port, () => process.stdout.write(`${goLogTime()} Server listening on port ${port}\n`));
// Go's runtime exits on SIGTERM/SIGINT; as PID 1 the re-raised signal is ignored and it exits 2.
onStop(() => process.exit(2));
