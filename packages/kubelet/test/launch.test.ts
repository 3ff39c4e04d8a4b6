import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ImageCatalog } from "@kubemu/images";
import { containerMounts, processEnv } from "../src/pod/launch.js";

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
