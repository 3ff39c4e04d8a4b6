import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseKubeletFlags } from "../src/config.js";

const base = ["--name", "kubelet-kubemu", "--node-name", "kubemu", "--node-ip", "127.1.206.5", "--apiserver-urls", "http://127.1.206.9:6443"];

describe("the kubelet's serving flags", () => {
  it("plain HTTP without certificates; HTTPS with --tls-cert-file, --tls-private-key-file and --client-ca-file, health on --healthz-port", () => {
    expect(parseKubeletFlags(base)).toMatchObject({ serving: undefined, healthzPort: 10248, port: 10250 });
    const dir = mkdtempSync(join(tmpdir(), "kubemu-kubelet-flags-"));
    for (const f of ["s.crt", "s.key", "ca.crt"]) writeFileSync(join(dir, f), `${f} pem`);
    const c = parseKubeletFlags([...base, "--tls-cert-file", join(dir, "s.crt"), "--tls-private-key-file", join(dir, "s.key"), "--client-ca-file", join(dir, "ca.crt"), "--healthz-port", "10249"]);
    expect(c.serving).toEqual({ cert: "s.crt pem", key: "s.key pem", clientCa: "ca.crt pem" });
    expect(c.healthzPort).toBe(10249);
  });

  it("refuses a partial set, an unreadable file or a bad port", () => {
    expect(() => parseKubeletFlags([...base, "--tls-cert-file", "/nope.crt"])).toThrow(/go together/);
    expect(() => parseKubeletFlags([...base, "--tls-cert-file", "/nope.crt", "--tls-private-key-file", "/nope.key", "--client-ca-file", "/nope-ca.crt"])).toThrow(/--tls-cert-file: ENOENT/);
    expect(() => parseKubeletFlags([...base, "--healthz-port", "x"])).toThrow(/--healthz-port must be an integer/);
  });

  it("--streaming-connection-idle-timeout: upstream's 4h by default, Go durations, 0 for none, a bad value refused in Go's words", () => {
    expect(parseKubeletFlags(base).streamingConnectionIdleTimeoutMs).toBe(4 * 3600_000);
    expect(parseKubeletFlags([...base, "--streaming-connection-idle-timeout", "1m30s"]).streamingConnectionIdleTimeoutMs).toBe(90_000);
    expect(parseKubeletFlags([...base, "--streaming-connection-idle-timeout", "0"]).streamingConnectionIdleTimeoutMs).toBe(0);
    expect(() => parseKubeletFlags([...base, "--streaming-connection-idle-timeout", "soon"])).toThrow('invalid argument "soon" for "--streaming-connection-idle-timeout" flag: time: invalid duration "soon"');
  });
});
