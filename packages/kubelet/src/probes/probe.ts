/**
 * One probe attempt, as upstream's prober: httpGet (2xx/3xx succeed; User-Agent kube-probe/1.32),
 * tcpSocket (a connection opens), exec (the command exits 0, run inside the container's
 * namespaces with nsenter). Failure output is upstream's text ("HTTP probe failed with
 * statuscode: 500", Go's dial errors).
 */
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { Container, Probe } from "kubernetes-types/core/v1.js";

export type ProbeOutcome = { result: "success" | "failure"; output: string } | { result: "error"; output: string };

/** A named or numbered port of the container. */
export function resolvePort(port: number | string | undefined, container: Container): number | undefined {
  if (typeof port === "number") return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function dialError(host: string, port: number, e: NodeJS.ErrnoException): string {
  const addr = `${host}:${port}`;
  if (e.code === "ECONNREFUSED") return `dial tcp ${addr}: connect: connection refused`;
  if (e.code === "ETIMEDOUT") return `dial tcp ${addr}: i/o timeout`;
  if (e.code === "EHOSTUNREACH") return `dial tcp ${addr}: connect: no route to host`;
  if (e.code === "ECONNRESET") return `read tcp ${addr}: read: connection reset by peer`;
  return `dial tcp ${addr}: ${e.message}`;
}

export function probeHttp(p: NonNullable<Probe["httpGet"]>, podIP: string, container: Container, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(p.port as number | string, container);
  const host = p.host || podIP;
  const scheme = (p.scheme ?? "HTTP").toLowerCase();
  const path = p.path ?? "/";
  const url = `${scheme}://${host}:${port}${path.startsWith("/") ? path : `/${path}`}`;
  if (port === undefined) return Promise.resolve({ result: "error", output: `unable to find port "${String(p.port)}" in container ${container.name}` });
  const headers: Record<string, string> = { "User-Agent": "kube-probe/1.32", Accept: "*/*" };
  for (const h of p.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = (scheme === "https" ? httpsRequest : httpRequest)(url, { method: "GET", headers, timeout: timeoutMs, rejectUnauthorized: false } as never, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        if (body.length < 10_240) body += d.toString();
      });
      res.on("end", () => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 400) resolve({ result: "success", output: body });
        else resolve({ result: "failure", output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on("error", () => resolve({ result: "failure", output: `HTTP probe failed with statuscode: ${res.statusCode ?? 0}` }));
    });
    req.on("timeout", () => {
      req.destroy();
      resolve({ result: "failure", output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ result: "failure", output: `Get "${url}": ${dialError(host, port, e)}` }));
    req.end();
  });
}

export function probeTcp(p: NonNullable<Probe["tcpSocket"]>, podIP: string, container: Container, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(p.port as number | string, container);
  const host = p.host || podIP;
  if (port === undefined) return Promise.resolve({ result: "error", output: `unable to find port "${String(p.port)}" in container ${container.name}` });
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: timeoutMs });
    sock.on("connect", () => {
      sock.destroy();
      resolve({ result: "success", output: "" });
    });
    sock.on("timeout", () => {
      sock.destroy();
      resolve({ result: "failure", output: `dial tcp ${host}:${port}: i/o timeout` });
    });
    sock.on("error", (e: NodeJS.ErrnoException) => resolve({ result: "failure", output: dialError(host, port, e) }));
  });
}

/** What a command run in a container did: its exit code (undefined: it did not run or timed out) and output. */
export interface ExecResult {
  code: number | undefined;
  output: string;
  timedOut: boolean;
  error?: string;
}

/** Runs argv in the namespaces of the container whose host pid is `pid` (nsenter), or on the host without one. */
export function execInContainer(argv: string[], pid: number | undefined, env: Record<string, string>, timeoutMs: number): Promise<ExecResult> {
  const cmd = pid !== undefined ? ["nsenter", "--target", String(pid), "--mount", "--uts", "--ipc", "--pid", "--", ...argv] : argv;
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const add = (d: Buffer) => {
      if (out.length < 10_240) out += d.toString();
    };
    child.stdout.on("data", add);
    child.stderr.on("data", add);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ code: undefined, output: out, timedOut: true });
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: undefined, output: out, timedOut: false, error: e.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? undefined, output: out, timedOut: false });
    });
  });
}

/** An exec probe: exit 0 succeeds; its output is the failure message. */
export async function probeExec(argv: string[], pid: number | undefined, env: Record<string, string>, timeoutMs: number): Promise<ProbeOutcome> {
  if (argv.length === 0) return { result: "error", output: "exec probe has no command" };
  const r = await execInContainer(argv, pid, env, timeoutMs);
  if (r.error) return { result: "error", output: r.error };
  if (r.timedOut) return { result: "failure", output: `command ${JSON.stringify(argv.join(" "))} timed out` };
  return { result: r.code === 0 ? "success" : "failure", output: r.output };
}
