/**
 * kubetm/app and kubetm/init (the kubetm course's sample app): HTTP on $POD_IP:8080 answering
 * /hostname and /version; `init` also appends each request to /applog/server.log when that
 * directory exists (a volume). argv: <variant>.
 */
import { appendFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { hostname, listen } from "./lib.js";

const variant = process.argv[2] ?? "app";
const server = createServer((req, res) => {
  const line = `${new Date().toISOString()} ${req.method} ${req.url} from ${req.socket.remoteAddress}`;
  process.stdout.write(`${line}\n`);
  if (variant === "init" && existsSync("/applog")) appendFileSync("/applog/server.log", `${line}\n`);
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
  if (req.url === "/hostname") return res.end(`Hostname : ${hostname()}\n`);
  if (req.url === "/version") return res.end("Version : v1\n");
  res.end(`Hostname : ${hostname()}\n`);
});
listen(server, 8080, () => process.stdout.write(`Server started on 8080 (${hostname()})\n`));
