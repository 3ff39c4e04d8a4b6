/**
 * The nginx images (nginx, nginx:alpine, registry.k8s.io/nginx-slim): the official image's
 * entrypoint lines, then an HTTP server on $POD_IP:80 serving /usr/share/nginx/html (a volume
 * mounted there is what it serves; without one, nginx's default pages), with nginx's headers,
 * error pages, `main` access-log lines on stdout and error-log lines on stderr. SIGQUIT (the
 * image's STOPSIGNAL) shuts down gracefully, SIGTERM fast; both exit 0.
 *
 * argv: [--entrypoint] [--slim] then what the container runs: `nginx -g "daemon off;"`, or any
 * other command, which the entrypoint runs instead (as its `exec "$@"`).
 */
import { spawn } from "node:child_process";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { release } from "node:os";
import { extname, join, normalize } from "node:path";
import { listen, onStop, podIP } from "./lib.js";

const VERSION = "1.27.3";
const SLIM_VERSION = "1.11.1";
const ROOT = "/usr/share/nginx/html";

const argv = process.argv.slice(2);
const entrypoint = argv[0] === "--entrypoint";
if (entrypoint) argv.shift();
const slim = argv[0] === "--slim";
if (slim) argv.shift();
const version = slim ? SLIM_VERSION : VERSION;

const p2 = (n: number) => String(n).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** nginx's error log time: 2024/10/10 13:55:36. */
function errTime(d = new Date()): string {
  return `${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/** $time_local: 10/Oct/2024:13:55:36 +0000. */
function localTime(d = new Date()): string {
  return `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

const notice = (msg: string) => process.stderr.write(`${errTime()} [notice] 1#1: ${msg}\n`);

const WELCOME = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

const FIFTY_X = `<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
`;

const BUILTIN: Record<string, string> = { "/index.html": WELCOME, "/50x.html": FIFTY_X };
const BUILTIN_MTIME = new Date("2024-11-26T15:55:00Z");

const MIME: Record<string, string> = {
  ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".js": "application/javascript", ".json": "application/json",
  ".txt": "text/plain", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".svg": "image/svg+xml", ".ico": "image/x-icon",
};

function errorPage(code: number, text: string): string {
  return `<html>\r\n<head><title>${code} ${text}</title></head>\r\n<body>\r\n<center><h1>${code} ${text}</h1></center>\r\n<hr><center>nginx/${version}</center>\r\n</body>\r\n</html>\r\n`;
}

function accessLog(req: IncomingMessage, status: number, bytes: number): void {
  const h = (n: string) => {
    const v = req.headers[n];
    return typeof v === "string" && v !== "" ? v : "-";
  };
  process.stdout.write(`${req.socket.remoteAddress ?? "-"} - - [${localTime()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${bytes} "${h("referer")}" "${h("user-agent")}" "${h("x-forwarded-for")}"\n`);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: string | Buffer, type = "text/html", extra: Record<string, string> = {}): void {
  const buf = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, { Server: `nginx/${version}`, Date: new Date().toUTCString(), "Content-Type": type, "Content-Length": String(buf.length), Connection: "keep-alive", ...extra });
  res.end(req.method === "HEAD" ? undefined : buf);
  accessLog(req, status, req.method === "HEAD" ? 0 : buf.length);
}

function fail(req: IncomingMessage, res: ServerResponse, status: number, text: string, why?: string): void {
  if (why) process.stderr.write(`${errTime()} [error] 29#29: *1 ${why}, client: ${req.socket.remoteAddress}, server: localhost, request: "${req.method} ${req.url} HTTP/${req.httpVersion}", host: "${req.headers.host ?? podIP()}"\n`);
  send(req, res, status, errorPage(status, text));
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") return fail(req, res, 405, "Not Allowed");
  let path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
  path = normalize(path);
  if (!path.startsWith("/")) return fail(req, res, 400, "Bad Request");
  if (path.endsWith("/")) path += "index.html";
  // A volume at the document root replaces the image's pages entirely.
  if (!existsSync(ROOT)) {
    const page = BUILTIN[path];
    if (page === undefined) return fail(req, res, 404, "Not Found", `open() "${ROOT}${path}" failed (2: No such file or directory)`);
    return send(req, res, 200, page, "text/html", { "Last-Modified": BUILTIN_MTIME.toUTCString(), ETag: `"${Math.floor(BUILTIN_MTIME.getTime() / 1000).toString(16)}-${Buffer.byteLength(page).toString(16)}"`, "Accept-Ranges": "bytes" });
  }
  const file = join(ROOT, path);
  let st;
  try {
    st = statSync(file);
  } catch {
    if (path.endsWith("/index.html")) return fail(req, res, 403, "Forbidden", `directory index of "${ROOT}${path.slice(0, -"index.html".length)}" is forbidden`);
    return fail(req, res, 404, "Not Found", `open() "${file}" failed (2: No such file or directory)`);
  }
  if (st.isDirectory()) {
    res.writeHead(301, { Server: `nginx/${version}`, Location: `${path}/`, "Content-Type": "text/html" });
    res.end(errorPage(301, "Moved Permanently"));
    accessLog(req, 301, 169);
    return;
  }
  const type = MIME[extname(file).toLowerCase()] ?? "application/octet-stream";
  res.writeHead(200, { Server: `nginx/${version}`, Date: new Date().toUTCString(), "Content-Type": type, "Content-Length": String(st.size), "Last-Modified": st.mtime.toUTCString(), Connection: "keep-alive", ETag: `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`, "Accept-Ranges": "bytes" });
  if (req.method === "HEAD") {
    res.end();
    accessLog(req, 200, 0);
    return;
  }
  createReadStream(file).on("error", () => res.destroy()).pipe(res);
  accessLog(req, 200, st.size);
}

function runNginx(): void {
  notice('using the "epoll" event method');
  notice(`nginx/${version}`);
  if (!slim) notice("built by gcc 12.2.0 (Debian 12.2.0-14) ");
  notice(`OS: Linux ${release()}`);
  notice("getrlimit(RLIMIT_NOFILE): 1048576:1048576");
  const server = createServer(serve);
  server.keepAliveTimeout = 65_000;
  listen(server, 80, () => {
    notice("start worker processes");
    notice("start worker process 29");
  });
  onStop((sig) => {
    if (sig === "SIGQUIT") {
      notice("signal 3 (SIGQUIT) received, shutting down");
      server.close(() => {
        notice("signal 17 (SIGCHLD) received from 29");
        notice("worker process 29 exited with code 0");
        notice("exit");
        process.exit(0);
      });
      server.closeIdleConnections();
      setTimeout(() => process.exit(0), 1000).unref();
    } else {
      notice(`signal ${sig === "SIGTERM" ? "15 (SIGTERM)" : "2 (SIGINT)"} received, exiting`);
      notice("exit");
      process.exit(0);
    }
  });
}

function entrypointLines(): void {
  const e = (s: string) => process.stdout.write(`${s}\n`);
  e("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration");
  e("/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/");
  e("/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh");
  e("10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf");
  e("10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf");
  e("/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh");
  e("/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh");
  e("/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh");
  e("/docker-entrypoint.sh: Configuration complete; ready for start up");
}

const cmd = argv[0];
// Reached as the image's `nginx` executable (no entrypoint), the arguments are nginx's own flags
// (`-g "daemon off;"`): the catalog hands over what follows the matched `nginx`.
const nginxFlags = !entrypoint && cmd !== undefined && cmd.startsWith("-");
if (cmd === undefined || cmd === "nginx" || cmd === "nginx-debug" || nginxFlags) {
  // The entrypoint configures only when it is about to start nginx.
  if (entrypoint && cmd !== undefined) entrypointLines();
  runNginx();
} else {
  // The entrypoint's `exec "$@"`: run the command the container asked for.
  const child = spawn(cmd, argv.slice(1), { stdio: "inherit" });
  child.on("error", (e: NodeJS.ErrnoException) => {
    process.stderr.write(`/docker-entrypoint.sh: exec: line 47: ${cmd}: ${e.code === "ENOENT" ? "not found" : e.message}\n`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
  for (const sig of ["SIGTERM", "SIGINT", "SIGQUIT"] as const) process.on(sig, () => child.kill(sig));
}
