import { lstatSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ImageCatalog } from "@kubemu/images";
import { busyboxPathDir, containerMounts, processEnv } from "../src/pod/launch.js";
import { busyboxDir } from "../src/runtime/executables.js";

const dir = mkdtempSync(join(tmpdir(), "kubemu-launch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("container launch inputs", () => {
  it("environment: image ENV, HOSTNAME and HOME, then the container's (which win), busybox first on PATH", () => {
    const img = ImageCatalog.withUserFile(undefined).resolve("nginx")!;
    const env = processEnv(img, [["NGINX_VERSION", "mine"], ["A", "1"]], "web-0", false);
    expect(env).toMatchObject({ HOSTNAME: "web-0", HOME: "/root", NGINX_VERSION: "mine", A: "1" });
    expect(env.PATH).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(processEnv(img, [], "x", true).PATH!.startsWith("/.kubemu-busybox:")).toBe(true);
  });
  it("busybox applets: 1.28 and older (and the k8s registries' busybox) keep a search-list nslookup; newer get busybox's own", () => {
    const catalog = ImageCatalog.withUserFile(undefined);
    const pathOf = (ref: string) => processEnv(catalog.resolve(ref)!, [], "x", true).PATH!.split(":")[0];
    expect(pathOf("busybox:1.28")).toBe("/.kubemu-busybox/1.28");
    expect(pathOf("busybox:1.27.2-glibc")).toBe("/.kubemu-busybox/1.28");
    expect(pathOf("registry.k8s.io/busybox")).toBe("/.kubemu-busybox/1.28");
    expect(pathOf("busybox")).toBe("/.kubemu-busybox");
    expect(pathOf("busybox:1.36.1")).toBe("/.kubemu-busybox");
    expect(pathOf("busybox:stable-musl")).toBe("/.kubemu-busybox");
    expect(busyboxPathDir("docker.io/library/busybox:1.29")).toBe("/.kubemu-busybox");
  });
  it("the node's busybox applet links: every applet, and in 1.28/ all but nslookup, which runs the images package's busybox 1.28 nslookup", () => {
    const bin = join(dir, "hostbin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "busybox"), "#!/bin/sh\n", { mode: 0o755 });
    const made = busyboxDir(join(dir, "node"), bin)!;
    expect(readdirSync(made)).toContain("nslookup");
    expect(readdirSync(join(made, "1.28"))).toContain("wget");
    const legacy = readFileSync(join(made, "1.28", "nslookup"), "utf8");
    expect(legacy).toMatch(/^#!\/bin\/sh\nexec '.+' '.+\/dist\/programs\/busybox-nslookup\.js' "\$@"\n$/);
    expect(lstatSync(join(made, "1.28", "wget")).isSymbolicLink()).toBe(true);
    expect(busyboxDir(join(dir, "node2"), join(dir, "nowhere"))).toBeUndefined();
  });
  it("mounts: readOnly, subPath through the ..data link (pinned to today's file), subPathExpr from env", () => {
    const vol = join(dir, "cm");
    mkdirSync(join(vol, "..2024_01_01"), { recursive: true });
    writeFileSync(join(vol, "..2024_01_01", "app.conf"), "x");
    symlinkSync("..2024_01_01", join(vol, "..data"));
    symlinkSync("..data/app.conf", join(vol, "app.conf"));
    const logs = join(dir, "logs");
    const spec = {
      name: "c",
      volumeMounts: [
        { name: "cm", mountPath: "/etc/app", readOnly: true },
        { name: "cm", mountPath: "/etc/app.conf", subPath: "app.conf" },
        { name: "logs", mountPath: "/var/log/app", subPathExpr: "$(POD_NAME)" },
      ],
    };
    const m = containerMounts(spec, (v) => (v === "cm" ? vol : v === "logs" ? logs : undefined), [["POD_NAME", "web-0"]]);
    expect(m[0]).toEqual({ hostPath: vol, containerPath: "/etc/app", readOnly: true });
    expect(m[1]!.hostPath).toBe(join(vol, "..2024_01_01", "app.conf"));
    expect(m[2]!.hostPath).toBe(join(logs, "web-0"));
    expect(() => containerMounts({ name: "c", volumeMounts: [{ name: "nope", mountPath: "/x" }] }, () => undefined, [])).toThrow('cannot find volume "nope"');
    expect(() => containerMounts({ name: "c", volumeMounts: [{ name: "cm", mountPath: "/x", subPath: "../etc" }] }, () => vol, [])).toThrow("without '..'");
  });
});
