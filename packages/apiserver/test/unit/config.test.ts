import { describe, expect, it } from "vitest";
import { ConfigError, parseArgs } from "../../src/config.js";

describe("kubemu-apiserver flags", () => {
  it("parses the launcher's flags", () => {
    const c = parseArgs([
      "--name", "apiserver-1", "--data-dir", "/d", "--state-dir", "/s", "--profile", "realistic", "--log-level", "debug",
      "--control-url", "http://127.0.20.2:6443", "--bind-address", "127.0.20.2", "--port", "6443",
      "--etcd-servers", "ws://127.0.10.1:2379,ws://127.0.10.2:2379",
    ]);
    expect(c).toMatchObject({ name: "apiserver-1", profile: "realistic", bindAddress: "127.0.20.2", port: 6443, storage: "etcd", compactionIntervalMs: 300_000 });
    expect(c.etcdServers).toHaveLength(2);
    expect(c.componentStatus.map((t) => t.name)).toEqual(["scheduler", "controller-manager", "etcd-0", "etcd-1", "etcd-2"]);
  });

  it("takes the kubelet client certificate (both files together) and the kubelets' CA", () => {
    const c = parseArgs(["--storage", "memory", "--kubelet-client-certificate", "/p/apiserver-kubelet-client.crt", "--kubelet-client-key", "/p/apiserver-kubelet-client.key", "--kubelet-certificate-authority", "/p/ca.crt"]);
    expect(c).toMatchObject({ kubeletClientCertificate: "/p/apiserver-kubelet-client.crt", kubeletClientKey: "/p/apiserver-kubelet-client.key", kubeletCertificateAuthority: "/p/ca.crt" });
    expect(parseArgs(["--storage", "memory"]).kubeletClientCertificate).toBeUndefined();
    expect(() => parseArgs(["--storage", "memory", "--kubelet-client-certificate", "/p/c.crt"])).toThrow(/--kubelet-client-certificate and --kubelet-client-key go together/);
    expect(() => parseArgs(["--storage", "memory", "--kubelet-certificate-authority", "/p/ca.crt"])).toThrow(/needs --kubelet-client-certificate/);
  });

  it("authorizes with Node,RBAC unless --authorization-mode says otherwise; NodeRestriction may be turned off", () => {
    expect(parseArgs(["--storage", "memory"]).authorizationModes).toEqual(["Node", "RBAC"]);
    expect(parseArgs(["--storage", "memory", "--authorization-mode", "RBAC"]).authorizationModes).toEqual(["RBAC"]);
    expect(parseArgs(["--storage", "memory", "--disable-admission-plugins", "NodeRestriction"]).disableAdmissionPlugins).toEqual(["NodeRestriction"]);
  });

  it.each([
    [["--bind-address", "10.0.0.1", "--storage", "memory"], /loopback/],
    [["--etcd-servers", "ws://8.8.8.8:2379"], /loopback/],
    [["--etcd-servers", "http://127.0.0.1:2379"], /ws:/],
    [[], /--etcd-servers is required/],
    [["--storage", "memory", "--port", "x"], /--port/],
    [["--storage", "memory", "--profile", "slow"], /profile/],
    [["--storage", "memory", "--tls-cert-file", "a"], /go together/],
    [["--storage", "memory", "--insecure-port", "6080"], /needs --tls-cert-file/],
    [["--storage", "memory", "--bogus"], /unknown option/],
    [["--storage", "memory", "--authorization-mode", "Node,AlwaysAllow"], /unknown authorization mode "AlwaysAllow"/],
    [["--storage", "memory", "--authorization-mode", "RBAC,RBAC"], /twice/],
  ])("rejects %j with one readable line", (argv, msg) => {
    expect(() => parseArgs(argv)).toThrow(ConfigError);
    expect(() => parseArgs(argv)).toThrow(msg);
  });
});
