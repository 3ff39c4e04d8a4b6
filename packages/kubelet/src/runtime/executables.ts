/**
 * From a container's argv to the host process to start: the image's own executables (catalog
 * programs run with the host's node, host binaries such as redis-server, entrypoints that exec
 * their arguments), else the host userland looked up on the container's PATH as the sandbox
 * will see it (a path inside a volume resolves to the volume's host directory). A missing
 * executable is the runtime's StartError.
 */
import { accessSync, constants, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { matchExecutable, programPath, type ImageEntry } from "@kubemu/images";
import type { Mount } from "./sandbox.js";

export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartError";
  }
}

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The host path of `name` on a PATH value (absolute names are checked as they are). */
export function findOnPath(name: string, pathValue: string): string | undefined {
  if (name.includes("/")) return executable(name) ? name : undefined;
  for (const dir of pathValue.split(":").filter(Boolean)) {
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return undefined;
}

/** Where a container path is on the host: inside a volume, the volume's directory; else the host's own path. */
export function hostPathFor(containerPath: string, mounts: readonly Mount[]): string {
  const p = posix.normalize(containerPath);
  let best: Mount | undefined;
  for (const m of mounts) {
    const c = posix.normalize(m.containerPath);
    if ((p === c || p.startsWith(`${c}/`)) && (!best || c.length > posix.normalize(best.containerPath).length)) best = m;
  }
  return best ? join(best.hostPath, p.slice(posix.normalize(best.containerPath).length)) : p;
}

function notFound(name: string): StartError {
  const what = name.includes("/") ? `exec: "${name}": stat ${name}: no such file or directory` : `exec: "${name}": executable file not found in $PATH`;
  return new StartError(`failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${what}: unknown`);
}

export interface ResolvedProcess {
  argv: string[];
  /** Whether it is one of the catalog's programs (they get $POD_IP). */
  catalogProgram: boolean;
}

/**
 * The host argv for a container argv. `nodeBin` is the node that runs catalog programs;
 * `podIP` fills `${POD_IP}` in catalog arguments.
 */
export function resolveProcess(entry: ImageEntry, argv: readonly string[], env: Record<string, string>, mounts: readonly Mount[], nodeBin: string, podIP: string, cwd: string): ResolvedProcess {
  if (argv.length === 0) throw new StartError("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: args must not be empty: unknown");
  const fill = (a: readonly string[] | undefined) => (a ?? []).map((s) => s.replaceAll("${POD_IP}", podIP));
  let rest = [...argv];
  // An entrypoint that execs its arguments hands over to what follows it (at most a few hops).
  for (let hop = 0; hop < 4; hop++) {
    const m = matchExecutable(entry, rest);
    if (!m) break;
    const x = m.executable;
    if ("passthrough" in x) {
      if (m.rest.length === 0) break;
      rest = m.rest;
      continue;
    }
    if ("program" in x) return { argv: [nodeBin, programPath(x.program), ...fill(x.args), ...m.rest, ...fill(x.appendArgs)], catalogProgram: true };
    const bin = findOnPath(x.host, env.PATH ?? process.env.PATH ?? "");
    if (!bin) throw notFound(x.host);
    return { argv: [bin, ...fill(x.args), ...m.rest, ...fill(x.appendArgs)], catalogProgram: true };
  }
  const name = rest[0]!;
  if (name.includes("/")) {
    const abs = name.startsWith("/") ? name : posix.join(cwd, name);
    if (!executable(hostPathFor(abs, mounts))) throw notFound(name);
    return { argv: [name, ...rest.slice(1)], catalogProgram: false };
  }
  for (const dir of (env.PATH ?? "").split(":").filter(Boolean)) {
    if (executable(hostPathFor(posix.join(dir, name), mounts))) return { argv: [posix.join(dir, name), ...rest.slice(1)], catalogProgram: false };
  }
  throw notFound(name);
}

/**
 * A directory of busybox applet links (busybox images put them first on PATH), made once per
 * node; undefined when busybox is not installed. Its `1.28/` subdirectory holds the same links but
 * nslookup: busybox 1.29 rewrote nslookup with its own resolver, which reads only the nameserver
 * lines of resolv.conf, so a short name (`nslookup web-0.nginx`) fails with NXDOMAIN; images of
 * 1.28 and older resolved through libc with the search list and printed `Address 1: ip name`
 * lines, which the images package's busybox-nslookup program does (a script running it with
 * nodeBin, rewritten at every start so it names this checkout and node).
 */
export function busyboxDir(nodeRoot: string, hostPath: string, nodeBin = process.execPath): string | undefined {
  const busybox = findOnPath("busybox", hostPath);
  if (!busybox) return undefined;
  const dir = join(nodeRoot, "busybox-bin");
  const legacy = join(dir, BUSYBOX_LEGACY_SUBDIR);
  mkdirSync(legacy, { recursive: true });
  writeFileSync(join(legacy, "nslookup"), `#!/bin/sh\nexec '${nodeBin}' '${programPath("busybox-nslookup")}' "$@"\n`, { mode: 0o755 });
  if (readdirSync(legacy).length > 1) return dir;
  const applets = ["sh", "ash", "ls", "cat", "echo", "sleep", "wget", "nslookup", "hostname", "env", "ps", "top", "df", "du", "head", "tail", "grep", "sed", "awk", "date", "mkdir", "rm", "cp", "mv", "touch", "true", "false", "id", "whoami", "nc", "ping", "vi", "find", "xargs", "sort", "uniq", "wc", "tr", "cut", "tee", "printf", "test", "[", "expr", "seq", "mount", "uname", "kill", "free", "uptime", "dd", "md5sum", "sha256sum", "base64", "ip", "ifconfig", "netstat", "telnet", "traceroute", "tar", "gzip", "gunzip", "chmod", "chown", "ln", "readlink", "basename", "dirname", "yes", "timeout", "watch", "which"];
  for (const a of applets) {
    try {
      symlinkSync(busybox, join(dir, a));
    } catch {
      // Exists already.
    }
    if (a === "nslookup") continue;
    try {
      symlinkSync(busybox, join(legacy, a));
    } catch {
      // Exists already.
    }
  }
  return dir;
}

/** The subdirectory of busyboxDir's for images whose nslookup used libc (busybox 1.28 and older). */
export const BUSYBOX_LEGACY_SUBDIR = "1.28";
