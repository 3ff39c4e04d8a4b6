import { describe, expect, it } from "vitest";
import { FlagError } from "@kubemu/common";
import { parseKubeProxyFlags } from "../src/index.js";

const base = ["--name", "kube-proxy-kubemu", "--node-name", "kubemu", "--node-ip", "127.0.100.1", "--apiserver-urls", "http://127.0.20.1:8080"];

describe("kube-proxy flags", () => {
  it("defaults healthz to <node-ip>:10256 and metrics to <node-ip>:10249", () => {
    const c = parseKubeProxyFlags(base);
    expect(c.healthz).toEqual({ host: "127.0.100.1", port: 10256 });
    expect(c.metrics).toEqual({ host: "127.0.100.1", port: 10249 });
    expect([c.syncPeriodMs, c.minSyncPeriodMs, c.udpTimeoutMs, c.bindRetryMs]).toEqual([30_000, 100, 250, 200]);
    expect(c.apiserverEndpoints).toEqual(["ws://127.0.20.1:8080/kubemu/wire"]);
    expect(c.crossNodeViaKubelet).toBe(false);
    expect(parseKubeProxyFlags([...base, "--cross-node-via-kubelet"]).crossNodeViaKubelet).toBe(true);
  });

  it("takes the launcher's addresses and durations", () => {
    const c = parseKubeProxyFlags([...base, "--healthz-bind-address", "127.0.100.1:10256", "--metrics-bind-address", "", "--udp-timeout", "2s", "--bind-retry-period", "100ms"]);
    expect(c.metrics).toBeUndefined();
    expect(c.udpTimeoutMs).toBe(2000);
    expect(c.bindRetryMs).toBe(100);
  });

  it("refuses bad values with one line", () => {
    expect(() => parseKubeProxyFlags([...base.slice(0, 4), "--node-ip", "10.0.0.1", "--apiserver-urls", "http://127.0.20.1:8080"])).toThrow(FlagError);
    expect(() => parseKubeProxyFlags([...base, "--healthz-bind-address", "0.0.0.0:10256"])).toThrow(/must be <127.x.y.z>:<port>/);
    expect(() => parseKubeProxyFlags([...base, "--udp-timeout", "0s"])).toThrow(/greater than 0/);
    expect(() => parseKubeProxyFlags([...base, "--sync-period", "soon"])).toThrow(/invalid duration/);
  });
});
