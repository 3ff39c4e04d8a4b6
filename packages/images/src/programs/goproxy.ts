/** registry.k8s.io/goproxy: an HTTP forward proxy on $POD_IP:8080 (absolute-URI requests and CONNECT tunnels). */
import { createServer, request } from "node:http";
import { connect } from "node:net";
import { listen, onStop } from "./lib.js";

const server = createServer((req, res) => {
  let target: URL;
  try {
    target = new URL(req.url ?? "");
  } catch {
    res.writeHead(500);
    return res.end("This is a proxy server. Does not respond to non-proxy requests.\n");
  }
  const up = request(target, { method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on("error", (e) => {
    res.writeHead(502);
    res.end(`${e.message}\n`);
  });
  req.pipe(up);
});
server.on("connect", (req, socket, head) => {
  const [host, port] = (req.url ?? "").split(":");
  const up = connect(Number(port || 443), host!, () => {
    socket.write("HTTP/1.0 200 OK\r\n\r\n");
    up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.on("error", () => socket.destroy());
  socket.on("error", () => up.destroy());
});
listen(server, 8080, () => undefined);
onStop(() => process.exit(2));
