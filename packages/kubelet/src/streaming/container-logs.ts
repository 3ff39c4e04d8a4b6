/**
 * The kubelet's `GET /containerLogs/<ns>/<pod>/<container>` (what the API server's pods/log
 * proxies to): which instance's log file answers (upstream's validateContainerLogStatus, in its
 * words), then the file read once, or followed until the container stops writing it.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync, watch, type FSWatcher } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { ByteLimit, entriesOf, parseRfc3339Nanos, readLogText, type LogOptions } from "./log-reader.js";

export interface ContainerLogsDeps {
  /** The pod as the kubelet knows it (its informer's copy). */
  findPod(namespace: string, name: string): Pod | undefined;
  /** <root>/pods. */
  logsDir: string;
  /** Whether a running container still writes this file. */
  isLive(logPath: string): boolean;
  /** Unix nanoseconds now (for sinceSeconds). */
  nowNanos(): bigint;
}

class LogError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The instance whose log answers: the latest, or the one before it. Throws upstream's errors. */
export function chooseInstance(pod: Pod, container: string, previous: boolean): "latest" | "beforeLatest" {
  const name = pod.metadata?.name ?? "";
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
  const s = statuses.find((c) => c.name === container);
  if (!s) {
    // Before the kubelet's first status for the pod reaches its informer, every container is being created.
    if (statuses.length === 0) throw new LogError(400, `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    throw new LogError(400, `container "${container}" in pod "${name}" is not available`);
  }
  const { running, terminated, waiting } = s.state ?? {};
  const last = s.lastState?.terminated;
  if (previous) {
    if (!last || !last.containerID) throw new LogError(400, `previous terminated container "${container}" in pod "${name}" not found`);
    // A newer instance has a file of its own when it runs or ran; else the last one is the newest file.
    return running || terminated?.containerID ? "beforeLatest" : "latest";
  }
  if (running) return "latest";
  if (terminated) {
    if (terminated.containerID || last?.containerID) return "latest";
    throw new LogError(400, `container "${container}" in pod "${name}" is terminated`);
  }
  if (last) return "latest";
  if (waiting) {
    if (waiting.reason === "ErrImagePull") throw new LogError(400, `container "${container}" in pod "${name}" is waiting to start: image can't be pulled`);
    if (waiting.reason === "ImagePullBackOff") throw new LogError(400, `container "${container}" in pod "${name}" is waiting to start: trying and failing to pull image`);
    throw new LogError(400, `container "${container}" in pod "${name}" is waiting to start: ${waiting.reason ?? ""}`);
  }
  throw new LogError(400, `container "${container}" in pod "${name}" is waiting to start - no logs yet`);
}

/** The log file of an instance: `<restart>.log` files ordered by restart number. */
export function instanceLogPath(dir: string, which: "latest" | "beforeLatest"): string | undefined {
  let files: number[];
  try {
    files = readdirSync(dir)
      .map((f) => /^(\d+)\.log$/.exec(f))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  } catch {
    return undefined;
  }
  const n = which === "latest" ? files.at(-1) : files.at(-2);
  return n === undefined ? undefined : join(dir, `${n}.log`);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new LogError(400, `invalid ${name}: ${v}`);
  return n;
}

const isTrue = (q: URLSearchParams, name: string) => q.get(name) === "true" || q.get(name) === "1";

export function logOptions(q: URLSearchParams, nowNanos: bigint): LogOptions {
  let sinceNanos: bigint | undefined;
  const sinceSeconds = intParam(q, "sinceSeconds");
  if (sinceSeconds !== undefined) sinceNanos = nowNanos - BigInt(sinceSeconds) * 1_000_000_000n;
  const sinceTime = q.get("sinceTime");
  if (sinceTime) {
    sinceNanos = parseRfc3339Nanos(sinceTime);
    if (sinceNanos === undefined) throw new LogError(400, `invalid sinceTime: ${sinceTime}`);
  }
  return { timestamps: isTrue(q, "timestamps"), tailLines: intParam(q, "tailLines"), sinceNanos, limitBytes: intParam(q, "limitBytes") };
}

export function serveContainerLogs(req: IncomingMessage, res: ServerResponse, d: ContainerLogsDeps): void {
  const url = new URL(req.url ?? "/", "http://kubelet");
  const fail = (code: number, message: string) => res.writeHead(code, { "content-type": "text/plain; charset=utf-8" }).end(message);
  const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
  if (parts.length !== 3 || parts.some((p) => p === "")) return void fail(400, `Bad Request: ${url.pathname}`);
  const [ns, podName, container] = parts as [string, string, string];
  try {
    const pod = d.findPod(ns, podName);
    if (!pod) throw new LogError(404, `pod "${podName}" does not exist`);
    const which = chooseInstance(pod, container, isTrue(url.searchParams, "previous"));
    const o = logOptions(url.searchParams, d.nowNanos());
    const dir = join(d.logsDir, `${ns}_${podName}_${pod.metadata?.uid ?? ""}`, container);
    const path = instanceLogPath(dir, which);
    if (!path) throw new LogError(400, `container "${container}" in pod "${podName}" is waiting to start - no logs yet`);
    if (!isTrue(url.searchParams, "follow")) {
      let text = "";
      try {
        text = statSync(path).isFile() ? readText(path, 0).text : "";
      } catch {
        // A file removed with its pod reads as empty.
      }
      res.writeHead(200, { "content-type": "text/plain" }).end(readLogText(text, o));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    res.flushHeaders();
    void followLog(path, o, res, () => d.isLive(path));
  } catch (e) {
    if (e instanceof LogError) return void fail(e.code, e.message);
    fail(500, e instanceof Error ? e.message : String(e));
  }
}

/** Reads a file from an offset to its end. */
function readText(pathOrFd: string | number, from: number): { text: string; end: number } {
  const fd = typeof pathOrFd === "number" ? pathOrFd : openSync(pathOrFd, "r");
  try {
    const chunks: Buffer[] = [];
    let pos = from;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      pos += n;
    }
    return { text: Buffer.concat(chunks).toString("utf8"), end: pos };
  } finally {
    if (typeof pathOrFd !== "number") closeSync(fd);
  }
}

/**
 * Writes what the file holds (tail and since applied), then each new entry as it is written,
 * across rotation (the old file read to its end, then the new one), until the container stops
 * writing it, the byte limit is reached or the client goes away.
 */
async function followLog(path: string, o: LogOptions, res: ServerResponse, isLive: () => boolean): Promise<void> {
  const limit = new ByteLimit(o.limitBytes);
  let closed = false;
  let wake: (() => void) | undefined;
  res.on("close", () => {
    closed = true;
    wake?.();
  });
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    res.end();
    return;
  }
  let watcher: FSWatcher | undefined;
  const watchFile = () => {
    watcher?.close();
    try {
      watcher = watch(path, () => wake?.());
      watcher.on("error", () => undefined);
    } catch {
      watcher = undefined;
    }
  };
  watchFile();
  const write = async (text: string) => {
    if (text === "" || closed) return;
    if (!res.write(limit.cut(text))) await new Promise<void>((r) => res.once("drain", () => r()).once("close", () => r()));
  };
  try {
    const first = readText(fd, 0);
    let pos = first.end;
    let partial = "";
    const nl = first.text.lastIndexOf("\n");
    partial = first.text.slice(nl + 1);
    let entries = entriesOf(first.text.slice(0, nl + 1), o);
    if (o.tailLines !== undefined) entries = o.tailLines <= 0 ? [] : entries.slice(-o.tailLines);
    await write(entries.join(""));
    while (!closed && !limit.exhausted) {
      const live = isLive();
      const next = readText(fd, pos);
      pos = next.end;
      const text = partial + next.text;
      const cut = text.lastIndexOf("\n");
      partial = text.slice(cut + 1);
      if (cut >= 0) await write(entriesOf(text.slice(0, cut + 1), o).join(""));
      if (next.text !== "") continue;
      if (!live) break; // checked before the last read: nothing more will come
      // Rotated: the old file is read to its end, the new one starts at 0.
      try {
        if (statSync(path).ino !== fstatSync(fd).ino) {
          closeSync(fd);
          fd = openSync(path, "r");
          pos = 0;
          partial = "";
          watchFile();
          continue;
        }
      } catch {
        // The file is gone (pod removed): the loop ends once the container is not live.
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => resolve(), 250);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    watcher?.close();
    closeSync(fd);
    if (!closed) res.end();
  }
}
