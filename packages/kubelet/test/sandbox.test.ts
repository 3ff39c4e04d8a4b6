import { describe, expect, it } from "vitest";
import { bwrapArgs, canonicalize, mountPathProblem, type HostFs } from "../src/runtime/sandbox.js";

/** A small fake host: dirs, files and symlinks by path. */
function fakeFs(entries: Record<string, "dir" | "file" | `->${string}`>): HostFs {
  const kind = (p: string) => {
    const e = entries[p];
    if (e === undefined) return undefined;
    return e.startsWith("->") ? "symlink" : (e as "dir" | "file");
  };
  return {
    kind,
    readlink: (p) => entries[p]!.slice(2),
    readdir: (p) => Object.keys(entries).filter((k) => k !== p && k.startsWith(p === "/" ? "/" : `${p}/`) && !k.slice(p === "/" ? 1 : p.length + 1).includes("/")).map((k) => k.slice(k.lastIndexOf("/") + 1)),
  };
}

const host = fakeFs({
  "/": "dir",
  "/bin": "->usr/bin",
  "/usr": "dir",
  "/usr/share": "dir",
  "/usr/share/doc": "dir",
  "/etc": "dir",
  "/etc/hosts": "file",
  "/etc/resolv.conf": "file",
  "/etc/os-release": "->../usr/lib/os-release",
  "/etc/ssl": "dir",
  "/var": "dir",
  "/var/run": "->/run",
  "/run": "dir",
  "/root": "dir",
  "/root/.kubemu": "dir",
});

const base = { hostname: "web", hidden: [] as string[], mounts: [], cwd: "/", argv: ["sh"], infoFd: 3, statusFd: 4 };
const pairs = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [[args[i + 1], args[i + 2]]] : []));

describe("bwrapArgs", () => {
  it("binds the host's top level read-only, own /tmp /dev /proc, PID 1 in its own namespaces, dies with the kubelet", () => {
    const a = bwrapArgs(host, base);
    expect(pairs(a, "--ro-bind")).toContainEqual(["/usr", "/usr"]);
    expect(pairs(a, "--symlink")).toContainEqual(["usr/bin", "/bin"]);
    for (const f of ["--unshare-pid", "--as-pid-1", "--unshare-uts", "--die-with-parent"]) expect(a).toContain(f);
    expect(a.slice(a.indexOf("--hostname"), a.indexOf("--hostname") + 2)).toEqual(["--hostname", "web"]);
    expect(a.slice(a.indexOf("--"))).toEqual(["--", "sh"]);
  });

  it("a mount whose parent is missing shadows the deepest existing ancestor", () => {
    const a = bwrapArgs(host, { ...base, mounts: [{ hostPath: "/vol/html", containerPath: "/usr/share/nginx/html", readOnly: false }] });
    expect(a.join(" ")).toContain("--ro-bind /usr/share /.kubemu-host/0 --tmpfs /usr/share --symlink /.kubemu-host/0/doc /usr/share/doc");
    expect(pairs(a, "--bind")).toContainEqual(["/vol/html", "/usr/share/nginx/html"]);
  });

  it("follows host symlinks (/var/run → /run) and keeps relative host links as they are", () => {
    expect(canonicalize(host, "/var/run/secrets/kubernetes.io/serviceaccount", [])).toBe("/run/secrets/kubernetes.io/serviceaccount");
    const a = bwrapArgs(host, { ...base, mounts: [{ hostPath: "/v", containerPath: "/etc/config", readOnly: true }], etcHosts: "/p/hosts", resolvConf: "/p/resolv" });
    expect(pairs(a, "--symlink")).toContainEqual(["../usr/lib/os-release", "/etc/os-release"]);
    // Bind destinations inside a shadow are not linked: bwrap makes them.
    expect(pairs(a, "--symlink").map((p) => p[1])).not.toContain("/etc/hosts");
    expect(pairs(a, "--ro-bind")).toContainEqual(["/p/hosts", "/etc/hosts"]);
    expect(pairs(a, "--ro-bind")).toContainEqual(["/v", "/etc/config"]);
  });

  it("a destination below a linked entry shadows that entry too", () => {
    const a = bwrapArgs(host, { ...base, mounts: [{ hostPath: "/v", containerPath: "/etc/config", readOnly: true }, { hostPath: "/c", containerPath: "/etc/ssl/private/x", readOnly: true }] });
    expect(a).toContain("/etc/ssl");
    expect(pairs(a, "--tmpfs").map((p) => p[0])).toEqual(expect.arrayContaining(["/etc", "/etc/ssl"]));
  });

  it("new top-level directories need no shadow; mounts below a volume need none either", () => {
    const a = bwrapArgs(host, { ...base, mounts: [{ hostPath: "/d", containerPath: "/data", readOnly: false }, { hostPath: "/e", containerPath: "/data/sub", readOnly: false }] });
    expect(a).not.toContain("--tmpfs /");
    expect(pairs(a, "--bind")).toEqual([["/d", "/data"], ["/e", "/data/sub"]]);
  });

  it("makes a missing working directory (an image's WORKDIR), shadowing its parent when the host has it", () => {
    const top = bwrapArgs(host, { ...base, cwd: "/app" });
    expect(pairs(top, "--dir").map((p) => p[0])).toContain("/app");
    expect(top.slice(top.indexOf("--chdir"), top.indexOf("--chdir") + 2)).toEqual(["--chdir", "/app"]);
    const nested = bwrapArgs(host, { ...base, cwd: "/usr/src/app" });
    expect(nested.join(" ")).toContain("--ro-bind /usr /.kubemu-host/0 --tmpfs /usr");
    expect(nested.indexOf("--dir")).toBeGreaterThan(nested.indexOf("--tmpfs"));
    expect(pairs(nested, "--dir").map((p) => p[0])).toContain("/usr/src/app");
    // Existing directories and volume paths are left alone.
    expect(bwrapArgs(host, { ...base, cwd: "/usr/share" })).not.toContain("--dir");
    expect(bwrapArgs(host, { ...base, cwd: "/data", mounts: [{ hostPath: "/d", containerPath: "/data", readOnly: false }] })).not.toContain("--dir");
  });

  it("hides the cluster state", () => {
    const a = bwrapArgs(host, { ...base, hidden: ["/root/.kubemu"] });
    expect(pairs(a, "--tmpfs").map((p) => p[0])).toContain("/root/.kubemu");
  });

  it("keeps an exposed checkout under /tmp visible (read-only, after the private /tmp); exposed paths elsewhere are already bound", () => {
    const withTmp = fakeFs({ "/": "dir", "/usr": "dir", "/tmp": "dir", "/tmp/ci/kubemu": "dir" });
    const a = bwrapArgs(withTmp, { ...base, exposed: ["/tmp/ci/kubemu", "/usr", "/tmp/missing"] });
    const binds = pairs(a, "--ro-bind");
    expect(binds).toContainEqual(["/tmp/ci/kubemu", "/tmp/ci/kubemu"]);
    expect(a.indexOf("/tmp/ci/kubemu")).toBeGreaterThan(a.indexOf("--tmpfs"));
    expect(binds.filter((b) => b[0] === "/usr")).toHaveLength(1);
    expect(binds.some((b) => b[0] === "/tmp/missing")).toBe(false);
  });

  it("refuses mount paths the sandbox owns", () => {
    expect(mountPathProblem("/proc/x")).toContain("under /proc");
    expect(mountPathProblem("relative")).toContain("absolute");
    expect(mountPathProblem("/data")).toBeUndefined();
  });
});
