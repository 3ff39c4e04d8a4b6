/**
 * The bubblewrap command line of one container: the host's root read-only, its own /tmp, /dev and
 * /proc, its own PID namespace (the container's process is PID 1, as in a real container: it
 * gets SIGTERM only if it handles it) and UTS namespace (hostname), the cluster state directory
 * hidden, every volume bound at its mountPath, the pod's /etc/hosts and /etc/resolv.conf, and
 * --die-with-parent so a dead kubelet takes its containers with it.
 *
 * The root is bwrap's tmpfs with each top-level host entry bound back, so a new top-level
 * mountPath (/data) can be made. A deeper mountPath whose parent is missing on the read-only host
 * (say /usr/share/nginx/html) cannot, so its deepest existing ancestor is "shadowed": a tmpfs
 * replaces it holding a symlink per host entry into a read-only copy of the host's directory,
 * after which bwrap can make the missing directories. Host symlinks on the way (/var/run → /run) are
 * followed first. A process that writes outside /tmp and its volumes gets EROFS.
 */
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { posix } from "node:path";

export interface Mount {
  /** Path on the host (a volume's directory or file). */
  hostPath: string;
  /** Path in the container. */
  containerPath: string;
  readOnly: boolean;
}

/** The host file system, as the builder needs it (injected for tests). */
export interface HostFs {
  /** lstat: what is at path, without following a final symlink. */
  kind(path: string): "dir" | "file" | "symlink" | "other" | undefined;
  readlink(path: string): string;
  readdir(path: string): string[];
}

export interface SandboxSpec {
  hostname: string;
  mounts: Mount[];
  /** Host files bound at /etc/hosts and /etc/resolv.conf (read-only). */
  etcHosts?: string;
  resolvConf?: string;
  /** Host paths the container must not see (the cluster state: keys, data). */
  hidden: string[];
  /**
   * Host paths that stay visible read-only even below the sandbox's own /tmp: the kubemu
   * checkout, whose catalog programs (and their node_modules) containers run, may live in /tmp.
   */
  exposed?: string[];
  cwd: string;
  argv: string[];
  /** fds bwrap reports the child pid on and writes its exit status to. */
  infoFd: number;
  statusFd: number;
  /** Needed when the kubelet is not root (no setuid bwrap). */
  unshareUser?: boolean;
}

/** Places no volume may go. */
const FORBIDDEN = ["/proc", "/sys", "/dev"];

const isUnder = (path: string, dir: string) => path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);

/** path with host symlinks resolved component by component, except below stop-dirs (volumes, tmpfs). */
export function canonicalize(fs: HostFs, path: string, stops: readonly string[]): string {
  let resolved = "/";
  const todo = posix.normalize(path).split("/").filter(Boolean);
  let hops = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    const next = posix.join(resolved, part);
    if (stops.some((s) => isUnder(next, s))) {
      resolved = posix.join(next, ...todo);
      break;
    }
    if (fs.kind(next) === "symlink" && hops++ < 40) {
      const target = fs.readlink(next);
      const base = target.startsWith("/") ? "/" : resolved;
      todo.unshift(...posix.normalize(posix.join(base, target)).split("/").filter(Boolean));
      resolved = "/";
      continue;
    }
    resolved = next;
  }
  return resolved;
}

/** Rejects mount paths no container may use. */
export function mountPathProblem(containerPath: string): string | undefined {
  if (!containerPath.startsWith("/")) return `mount path "${containerPath}" must be absolute`;
  const p = posix.normalize(containerPath);
  if (p === "/") return `mount path "/" is not supported: the container's root is the host's, read-only`;
  if (FORBIDDEN.some((f) => isUnder(p, f))) return `mount path "${containerPath}" is under ${FORBIDDEN.find((f) => isUnder(p, f))}, which the sandbox provides itself`;
  return undefined;
}

/** Where shadowed directories' host copies are bound inside the sandbox. */
export const HOST_COPIES = "/.kubemu-host";

/** The tmpfs dirs bwrap makes for every container; anything below them can be created. */
const SCRATCH = ["/tmp", "/dev"];

export function bwrapArgs(fs: HostFs, spec: SandboxSpec): string[] {
  const args: string[] = [];
  // The root is bwrap's own tmpfs with the host's top-level entries bound back read-only, so new
  // top-level directories (/data, /cache) can be made for volumes.
  for (const name of fs.readdir("/").sort()) {
    if (name === "proc" || name === "dev" || name === "tmp") continue;
    const p = `/${name}`;
    const k = fs.kind(p);
    if (k === "symlink") args.push("--symlink", fs.readlink(p), p);
    else if (k === "dir" || k === "file") args.push("--ro-bind", p, p);
  }
  args.push("--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp");
  const hidden = spec.hidden.filter((h) => fs.kind(h) === "dir" && !SCRATCH.some((s) => isUnder(h, s)));
  for (const h of hidden) args.push("--tmpfs", h);
  for (const e of spec.exposed ?? []) if (SCRATCH.some((sc) => isUnder(e, sc) && e !== sc) && fs.kind(e) === "dir") args.push("--ro-bind", e, e);
  const scratch = [...SCRATCH, ...hidden];
  const mounts = spec.mounts
    .map((m) => ({ ...m, containerPath: posix.normalize(m.containerPath) }))
    .sort((a, b) => a.containerPath.split("/").length - b.containerPath.split("/").length);
  const targets: { mount: Mount; target: string }[] = [];
  // Bind destinations that sit in the host's read-only tree (not below a volume or a tmpfs).
  const inHostTree: string[] = [];
  for (const m of mounts) {
    const below = [...scratch, ...targets.map((t) => t.target)];
    const target = canonicalize(fs, m.containerPath, below);
    targets.push({ mount: m, target });
    if (!below.some((b) => isUnder(target, b) && target !== b)) inHostTree.push(target);
  }
  if (spec.etcHosts) inHostTree.push("/etc/hosts");
  if (spec.resolvConf) inHostTree.push("/etc/resolv.conf");
  // A working directory the image declares but the host lacks (WORKDIR /app) is made, as the
  // container runtime does; made after the binds, so one inside a volume lands in the volume.
  const cwd = canonicalize(fs, posix.normalize(spec.cwd), [...scratch, ...targets.map((t) => t.target)]);
  const cwdMissing = fs.kind(cwd) === undefined && !targets.some((t) => t.target === cwd);
  if (cwdMissing && ![...scratch, ...targets.map((t) => t.target)].some((b) => isUnder(cwd, b))) inHostTree.push(cwd);
  const shadows = new Set<string>();
  for (const t of inHostTree) {
    if (fs.kind(t) !== undefined) continue;
    let ancestor = posix.dirname(t);
    while (ancestor !== "/" && fs.kind(ancestor) !== "dir") ancestor = posix.dirname(ancestor);
    if (ancestor !== "/") shadows.add(ancestor);
  }
  // Inside a shadow, entries are symlinks into the host copy, which bwrap cannot follow while it
  // sets up: a destination below such an entry needs that entry shadowed too (a real directory).
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of inHostTree) {
      for (const s of [...shadows]) {
        if (!isUnder(t, s) || t === s) continue;
        const child = posix.join(s, t.slice(s === "/" ? 1 : s.length + 1).split("/")[0]!);
        if (child !== t && fs.kind(child) === "dir" && !shadows.has(child)) {
          shadows.add(child);
          changed = true;
        }
      }
    }
  }
  // Each shadowed directory: the host's copy bound read-only at a hidden place, a tmpfs over the
  // original, and a symlink per entry into the hidden copy (bwrap remounts every read-only bind,
  // rereading the mount table each time, so binding entries one by one costs seconds). Entries
  // that are themselves shadows or bind destinations are left for those.
  [...shadows]
    .sort((a, b) => a.split("/").length - b.split("/").length)
    .forEach((dir, i) => {
      const copy = `${HOST_COPIES}/${i}`;
      args.push("--ro-bind", dir, copy, "--tmpfs", dir);
      for (const name of fs.readdir(dir).sort()) {
        const p = posix.join(dir, name);
        if (shadows.has(p) || inHostTree.includes(p)) continue;
        // Host symlinks keep their own (possibly relative) targets.
        args.push("--symlink", fs.kind(p) === "symlink" ? fs.readlink(p) : `${copy}/${name}`, p);
      }
    });
  for (const { mount, target } of targets) args.push(mount.readOnly ? "--ro-bind" : "--bind", mount.hostPath, target);
  if (spec.etcHosts) args.push("--ro-bind", spec.etcHosts, "/etc/hosts");
  if (spec.resolvConf) args.push("--ro-bind", spec.resolvConf, "/etc/resolv.conf");
  if (cwdMissing) args.push("--dir", cwd);
  args.push("--unshare-pid", "--as-pid-1", "--unshare-uts", "--unshare-ipc", "--hostname", spec.hostname);
  if (spec.unshareUser) args.push("--unshare-user");
  args.push("--die-with-parent", "--chdir", spec.cwd, "--info-fd", String(spec.infoFd), "--json-status-fd", String(spec.statusFd), "--", ...spec.argv);
  return args;
}

/** The real file system. */
export function hostFs(): HostFs {
  return {
    kind(path) {
      try {
        const st = lstatSync(path);
        if (st.isSymbolicLink()) return "symlink";
        if (st.isDirectory()) return "dir";
        if (st.isFile()) return "file";
        return "other";
      } catch {
        return undefined;
      }
    },
    readlink: (path) => readlinkSync(path),
    readdir: (path) => {
      try {
        return readdirSync(path);
      } catch {
        return [];
      }
    },
  };
}
