/**
 * luksa/kubia and its variants (Kubernetes in Action): `node app.js` on $POD_IP:8080.
 * argv: <variant> — latest ("You've hit <hostname>"), v1/v2/v3 ("This is vN running in pod
 * <hostname>"; v3 fails with 500 from the sixth request on), unhealthy (kubia-unhealthy: 500 "I'm
 * not well. Please restart me!" after five requests), pet (kubia-pet: POST stores the body in
 * /var/data/kubia.txt, GET reports it), pet-peers (kubia-pet-peers, ch. 10's last version: GET /data
 * is the stored data; any other GET looks up the SRV records of kubia.default.svc.cluster.local and
 * collects every peer's /data).
 */
import { resolveSrv } from "node:dns";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, get, type IncomingMessage, type ServerResponse } from "node:http";
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

/** The book's httpGet: the body, or "Error: <message>". */
function httpGet(host: string, path: string, callback: (body: string) => void): void {
  get({ host, port: 8080, path }, (r) => {
    let body = "";
    r.on("data", (d: Buffer) => (body += d.toString()));
    r.on("end", () => callback(body));
  }).on("error", (e) => callback(`Error: ${e.message}`));
}

/** kubia-pet-peers: every peer's data, found through the headless service's SRV records. */
function petPeers(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "POST" || req.url === "/data") return petData(req, res);
  res.writeHead(200);
  res.write(`You've hit ${hostname()}\n`);
  res.write("Data stored in the cluster:\n");
  resolveSrv("kubia.default.svc.cluster.local", (err, addresses) => {
    if (err) return res.end(`Could not look up DNS SRV records: ${err}`);
    if (addresses.length === 0) return res.end("No peers discovered.");
    let responses = 0;
    for (const item of addresses) {
      httpGet(item.name, "/data", (data) => {
        responses++;
        res.write(`- ${item.name}: ${data}\n`);
        if (responses === addresses.length) res.end();
      });
    }
  });
}

/** kubia-pet-peers' POST and GET /data (the peers version answers the bare data). */
function petData(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "POST") return pet(req, res);
  res.writeHead(200);
  res.end(existsSync(DATA) ? readFileSync(DATA, "utf8") : "No data posted yet");
}

const server = createServer((req, res) => {
  process.stdout.write(`Received request from ${req.socket.remoteAddress}\n`);
  requests++;
  switch (variant) {
    case "pet":
      return pet(req, res);
    case "pet-peers":
      return petPeers(req, res);
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
