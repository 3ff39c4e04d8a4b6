/**
 * luksa/kubia and its variants (Kubernetes in Action): `node app.js` on $POD_IP:8080.
 * argv: <variant> — latest ("You've hit <hostname>"), v1/v2/v3 ("This is vN running in pod
 * <hostname>"; v3 fails with 500 from the sixth request on), unhealthy (kubia-unhealthy: 500 "I'm
 * not well. Please restart me!" after five requests), pet (kubia-pet: POST stores the body in
 * /var/data/kubia.txt, GET reports it).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname } from "node:path";
import { hostname, listen } from "./lib.js";

const variant = process.argv[2] ?? "latest";
const DATA = "/var/data/kubia.txt";
let requests = 0;

function pet(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "POST") {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      mkdirSync(dirname(DATA), { recursive: true });
      writeFileSync(DATA, body);
      process.stdout.write(`New data has been received and stored.\n`);
      res.writeHead(200);
      res.end(`Data stored on pod ${hostname()}\n`);
    });
    return;
  }
  const data = existsSync(DATA) ? readFileSync(DATA, "utf8") : "No data posted yet";
  res.writeHead(200);
  res.end(`You've hit ${hostname()}\nData stored on this pod: ${data}\n`);
}

const server = createServer((req, res) => {
  process.stdout.write(`Received request from ${req.socket.remoteAddress}\n`);
  requests++;
  switch (variant) {
    case "pet":
      return pet(req, res);
    case "unhealthy":
      if (requests > 5) {
        res.writeHead(500);
        return res.end("I'm not well. Please restart me!");
      }
      res.writeHead(200);
      return res.end(`You've hit ${hostname()}\n`);
    case "v3":
      if (requests > 5) {
        res.writeHead(500);
        return res.end(`Some internal error has occurred! This is pod ${hostname()}\n`);
      }
      res.writeHead(200);
      return res.end(`This is v3 running in pod ${hostname()}\n`);
    case "v1":
    case "v2":
    case "v4":
      res.writeHead(200);
      return res.end(`This is ${variant} running in pod ${hostname()}\n`);
    default:
      res.writeHead(200);
      return res.end(`You've hit ${hostname()}\n`);
  }
});
listen(server, 8080, () => process.stdout.write("Kubia server starting...\n"));
// The real app installs no signal handler: as PID 1 it ignores SIGTERM and is killed after the grace period.
