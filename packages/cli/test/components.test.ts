import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { clusterTable, nodeName } from "../src/components.js";
import { renderKubeconfig } from "../src/kubeconfig.js";
import { pkiPaths } from "../src/pki.js";
import { validateProcessList } from "../src/spec.js";

const layout = { cluster: "kubemu", nodeCount: 3, apiserverLbPort: 38443, apiserverLbControlPort: 38444, pki: pkiPaths("/state/pki") };

describe("the component table", () => {
  const table = clusterTable(layout);
  const byName = new Map(table.map((p) => [p.name, p]));

  it("has DESIGN.md's process names in start order", () => {
    expect(table.map((p) => p.name)).toEqual([
      "etcd-0", "etcd-1", "etcd-2",
      "apiserver-0", "apiserver-1", "apiserver-lb",
      "scheduler-0", "scheduler-1", "controller-manager-0", "controller-manager-1",
      "kubelet-kubemu", "kube-proxy-kubemu",
      "kubelet-kubemu-m02", "kube-proxy-kubemu-m02",
      "kubelet-kubemu-m03", "kube-proxy-kubemu-m03",
    ]);
  });

  it("uses DESIGN.md's addresses and control URLs", () => {
    expect(byName.get("etcd-1")).toMatchObject({
      addresses: { client: "127.0.10.2:2379", peer: "127.0.10.2:2380", control: "127.0.10.2:2381" },
      controlUrl: "http://127.0.10.2:2381",
    });
    // Only the launcher may use /kubemu/*: the plain-HTTP control URLs want its token, the API servers its admin certificate.
    for (const p of table) expect(p.env, p.name).toEqual(p.component === "apiserver" ? {} : { KUBEMU_CONTROL_TOKEN_FILE: "/state/pki/control-token" });
    // The store: TLS with client certificates from its own CA on the client and peer ports.
    expect(byName.get("etcd-0")!.args).toEqual(expect.arrayContaining(["--initial-cluster", "etcd-0=wss://127.0.10.1:2380,etcd-1=wss://127.0.10.2:2380,etcd-2=wss://127.0.10.3:2380"]));
    expect(byName.get("etcd-0")!.args).toEqual(
      expect.arrayContaining(["--listen-client-urls", "wss://127.0.10.1:2379", "--cert-file", "/state/pki/etcd/server.crt", "--trusted-ca-file", "/state/pki/etcd/ca.crt", "--client-cert-auth", "--peer-cert-file", "/state/pki/etcd/peer.crt", "--peer-client-cert-auth"]),
    );
    expect(byName.get("apiserver-0")!.args).toEqual(
      expect.arrayContaining(["--etcd-servers", "wss://127.0.10.1:2379,wss://127.0.10.2:2379,wss://127.0.10.3:2379", "--etcd-cafile", "/state/pki/etcd/ca.crt", "--etcd-certfile", "/state/pki/apiserver-etcd-client.crt", "--etcd-keyfile", "/state/pki/apiserver-etcd-client.key"]),
    );
    // No unauthenticated port: the launcher reaches /kubemu/* on the HTTPS port with the admin certificate.
    expect(byName.get("apiserver-1")!.addresses).toEqual({ api: "127.0.20.2:6443" });
    expect(byName.get("apiserver-1")!.controlUrl).toBe("https://127.0.20.2:6443");
    expect(byName.get("apiserver-1")!.args).toEqual(expect.arrayContaining(["--tls-cert-file", "/state/pki/apiserver.crt", "--client-ca-file", "/state/pki/ca.crt"]));
    for (const p of table) expect(p.args, p.name).not.toContain("--insecure-port");
    expect(new Map(clusterTable({ ...layout, logsDir: "/state/logs" }).map((p) => [p.name, p])).get("apiserver-1")!.args).toEqual(
      expect.arrayContaining(["--audit-log-path", "/state/logs/apiserver-1.audit.log", "--audit-log-maxsize", "100", "--audit-log-maxbackup", "2"]),
    );
    expect(byName.get("apiserver-lb")!.args).toEqual(expect.arrayContaining(["--backends", "apiserver-0=https://127.0.20.1:6443,apiserver-1=https://127.0.20.2:6443", "--backend-ca-file", "/state/pki/ca.crt"]));
    // The scheduler and controller-manager reach both apiservers' HTTPS port with their own certificates.
    expect(byName.get("scheduler-0")!.args).toEqual(
      expect.arrayContaining(["--apiserver-urls", "https://127.0.20.1:6443,https://127.0.20.2:6443", "--ca-file", "/state/pki/ca.crt", "--client-cert-file", "/state/pki/scheduler.crt", "--client-key-file", "/state/pki/scheduler.key"]),
    );
    expect(byName.get("controller-manager-1")!.args).toEqual(expect.arrayContaining(["--client-cert-file", "/state/pki/controller-manager.crt"]));
    // Kubelets reach the HTTPS port with their node's certificate, kube-proxies with system:kube-proxy's.
    expect(byName.get("kubelet-kubemu-m02")!.args).toEqual(
      expect.arrayContaining(["--apiserver-urls", "https://127.0.20.1:6443,https://127.0.20.2:6443", "--ca-file", "/state/pki/ca.crt", "--client-cert-file", "/state/pki/kubelet-kubemu-m02.crt", "--client-key-file", "/state/pki/kubelet-kubemu-m02.key"]),
    );
    expect(byName.get("kube-proxy-kubemu")!.args).toEqual(
      expect.arrayContaining(["--apiserver-urls", "https://127.0.20.1:6443,https://127.0.20.2:6443", "--client-cert-file", "/state/pki/kube-proxy.crt", "--client-key-file", "/state/pki/kube-proxy.key", "--healthz-bind-address", "127.0.100.1:10256", "--metrics-bind-address", "127.0.100.1:10249"]),
    );
    expect(byName.get("apiserver-lb")!.addresses).toEqual({ api: "127.0.0.1:38443", control: "127.0.0.1:38444" });
    expect(byName.get("scheduler-1")!.controlUrl).toBe("http://127.0.30.2:10259");
    expect(byName.get("controller-manager-0")!.controlUrl).toBe("http://127.0.40.1:10257");
    expect(byName.get("kubelet-kubemu-m03")).toMatchObject({ node: "kubemu-m03", addresses: { kubelet: "127.0.100.3:10250" } });
    // The control-plane role is the launcher's to set (NodeRestriction forbids a kubelet to).
    expect(byName.get("kubelet-kubemu")!.args).not.toContain("--node-labels");
    expect(byName.get("kubelet-kubemu-m02")!.args).not.toContain("--node-labels");
    expect(byName.get("kube-proxy-kubemu-m02")!.controlUrl).toBe("http://127.0.100.2:10256");
    // Kubelets serve :10250 over HTTPS for the API servers' kubelet client certificate; health and control on :10248.
    expect(byName.get("kubelet-kubemu-m02")!.args).toEqual(
      expect.arrayContaining(["--tls-cert-file", "/state/pki/kubelet-kubemu-m02-serving.crt", "--tls-private-key-file", "/state/pki/kubelet-kubemu-m02-serving.key", "--client-ca-file", "/state/pki/ca.crt", "--healthz-port", "10248"]),
    );
    expect(byName.get("kubelet-kubemu-m02")!.controlUrl).toBe("http://127.0.100.2:10248");
    expect(byName.get("apiserver-0")!.args).toEqual(
      expect.arrayContaining(["--kubelet-client-certificate", "/state/pki/apiserver-kubelet-client.crt", "--kubelet-client-key", "/state/pki/apiserver-kubelet-client.key", "--kubelet-certificate-authority", "/state/pki/ca.crt"]),
    );
  });

  it("serves plain HTTP on the API port when there is no PKI (up --insecure-http)", () => {
    const plain = new Map(clusterTable({ ...layout, pki: null }).map((p) => [p.name, p]));
    expect(plain.get("apiserver-0")!.args).not.toContain("--tls-cert-file");
    expect(plain.get("etcd-0")!.args).toEqual(expect.arrayContaining(["--listen-client-urls", "ws://127.0.10.1:2379"]));
    expect(plain.get("etcd-0")!.args).not.toContain("--cert-file");
    expect(plain.get("apiserver-0")!.args).not.toContain("--etcd-cafile");
    expect(plain.get("scheduler-0")!.env).toEqual({});
    expect(plain.get("apiserver-0")!.controlUrl).toBe("http://127.0.20.1:6443");
    expect(plain.get("apiserver-lb")!.args).toEqual(expect.arrayContaining(["--backends", "apiserver-0=http://127.0.20.1:6443,apiserver-1=http://127.0.20.2:6443"]));
    expect(plain.get("apiserver-lb")!.args).not.toContain("--backend-ca-file");
    expect(plain.get("scheduler-0")!.args).toEqual(expect.arrayContaining(["--apiserver-urls", "http://127.0.20.1:6443,http://127.0.20.2:6443"]));
    expect(plain.get("scheduler-0")!.args).not.toContain("--client-cert-file");
    expect(plain.get("kubelet-kubemu")!.args).toEqual(expect.arrayContaining(["--apiserver-urls", "http://127.0.20.1:6443,http://127.0.20.2:6443"]));
  });

  it("never gives two processes the same address and only uses loopback", () => {
    const all = table.flatMap((p) => Object.values(p.addresses));
    expect(new Set(all).size).toBe(all.length);
    for (const a of all) expect(a).toMatch(/^127\./);
  });

  it("is in the same shape a --spec file takes", () => {
    expect(validateProcessList(JSON.parse(JSON.stringify(table)), "/", "table")).toEqual(table);
  });

  it("names nodes like minikube and scales the node count", () => {
    expect([0, 1, 9].map((i) => nodeName("demo", i))).toEqual(["demo", "demo-m02", "demo-m10"]);
    const five = clusterTable({ ...layout, cluster: "demo", nodeCount: 5 });
    expect(five.filter((p) => p.component === "kubelet").map((p) => p.addresses.kubelet)).toEqual([1, 2, 3, 4, 5].map((n) => `127.0.100.${n}:10250`));
    expect(five.find((p) => p.name === "kubelet-demo-m05")!.args).toEqual(expect.arrayContaining(["--pod-cidr", "127.244.5.0/24"]));
  });
});

describe("kubeconfig", () => {
  it("points kubectl at apiserver-lb with a context named after the cluster", () => {
    expect(parse(renderKubeconfig("kubemu", "http://127.0.0.1:38443"))).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "kubemu", cluster: { server: "http://127.0.0.1:38443" } }],
      users: [{ name: "kubemu", user: {} }],
      contexts: [{ name: "kubemu", context: { cluster: "kubemu", user: "kubemu", namespace: "default" } }],
      "current-context": "kubemu",
      preferences: {},
    });
  });
});
