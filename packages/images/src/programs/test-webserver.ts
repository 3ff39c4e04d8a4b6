/** registry.k8s.io/test-webserver: serves the container's file system root on $POD_IP:80, as Go's http.FileServer. */
import { createReadStream, readdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { join, normalize } from "node:path";
import { listen, onStop } from "./lib.js";

const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]!));
  const file = join("/", path);
  let st;
  try {
    st = statSync(file);
  } catch {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    return res.end("404 page not found\n");
  }
  if (st.isDirectory()) {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    const names = readdirSync(file).sort();
    return res.end(`<pre>\n${names.map((n) => `<a href="${encodeURIComponent(n)}">${n}</a>`).join("\n")}\n</pre>\n`);
  }
  res.writeHead(200, { "Content-Length": String(st.size) });
  createReadStream(file).on("error", () => res.destroy()).pipe(res);
});
listen(server, 80, () => undefined);
onStop(() => process.exit(2));
