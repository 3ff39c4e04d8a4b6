import { describe, expect, it } from "vitest";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { containerEnv, expandCommand, serviceEnv, type EnvSources } from "../src/pod/env.js";
import { ConfigError } from "../src/pod/downward.js";
import { hostsFile, resolvConf } from "../src/pod/dns.js";

const svc = (ns: string, name: string, ip: string, ports: { port: number; name?: string; protocol?: string }[]): Service => ({ metadata: { name, namespace: ns }, spec: { clusterIP: ip, ports } });

const sources = (over: Partial<EnvSources> = {}): EnvSources => ({
  configMap: (_ns, name) => (name === "cfg" ? { data: { sport: "football", "9lives": "x", COLOR: "blue" } } : undefined),
  secret: (_ns, name) => (name === "db" ? { data: { password: Buffer.from("s3cret").toString("base64") } } : undefined),
  services: () => [svc("default", "kubernetes", "127.96.0.1", [{ port: 443, name: "https" }]), svc("shop", "redis-master", "127.96.0.20", [{ port: 6379 }]), svc("other", "x", "127.96.0.30", [{ port: 1 }])],
  podIP: "127.246.1.5",
  hostIP: "127.1.70.1",
  allocatable: { cpu: "2", memory: "4Gi" },
  ...over,
});

const pod = (container: NonNullable<Pod["spec"]>["containers"][number], extra: Partial<NonNullable<Pod["spec"]>> = {}): Pod => ({
  metadata: { name: "web-0", namespace: "shop", uid: "u1", labels: { app: "web" } },
  spec: { nodeName: "kubemu", serviceAccountName: "default", containers: [container], ...extra },
});

describe("containerEnv", () => {
  it("resolves value, fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef and $(VAR)", () => {
    const c = {
      name: "app",
      resources: { limits: { memory: "128Mi" } },
      env: [
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
        { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
        { name: "SPORT", valueFrom: { configMapKeyRef: { name: "cfg", key: "sport" } } },
        { name: "PW", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
        { name: "MSG", value: "$(POD) at $(IP) plays $(SPORT) via $(REDIS_MASTER_SERVICE_HOST), $(UNSET)" },
      ],
    };
    const env = new Map(containerEnv(pod(c), c, sources()).env);
    expect(env.get("POD")).toBe("web-0");
    expect(env.get("IP")).toBe("127.246.1.5");
    expect(env.get("APP")).toBe("web");
    expect(env.get("MEM")).toBe("128");
    expect(env.get("CPU")).toBe("2");
    expect(env.get("PW")).toBe("s3cret");
    expect(env.get("MSG")).toBe("web-0 at 127.246.1.5 plays football via 127.96.0.20, $(UNSET)");
    expect(env.get("KUBERNETES_SERVICE_HOST")).toBe("127.96.0.1");
    expect(env.get("KUBERNETES_SERVICE_PORT")).toBe("443");
    expect(env.get("KUBERNETES_PORT_443_TCP_ADDR")).toBe("127.96.0.1");
    expect(env.has("X_SERVICE_HOST")).toBe(false);
  });

  it("envFrom with prefix; invalid names skipped with upstream's warning", () => {
    const c = { name: "app", envFrom: [{ configMapRef: { name: "cfg" } }, { prefix: "CFG_", configMapRef: { name: "cfg" } }] };
    const r = containerEnv(pod(c), c, sources());
    expect(new Map(r.env).get("CFG_sport")).toBe("football");
    expect(r.warnings[0]!.message).toBe("Keys [9lives] from the EnvFrom configMap shop/cfg were skipped since they are considered invalid environment variable names.");
  });

  it("missing sources are config errors unless optional", () => {
    const missing = { name: "app", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }] };
    expect(() => containerEnv(pod(missing), missing, sources())).toThrow(new ConfigError('configmap "nope" not found'));
    const badKey = { name: "app", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "db", key: "user" } } }] };
    expect(() => containerEnv(pod(badKey), badKey, sources())).toThrow("couldn't find key user in Secret shop/db");
    const optional = { name: "app", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "k", optional: true } } }] };
    expect(new Map(containerEnv(pod(optional), optional, sources()).env).has("X")).toBe(false);
  });

  it("enableServiceLinks=false keeps only the kubernetes service", () => {
    const c = { name: "app" };
    const env = new Map(containerEnv(pod(c, { enableServiceLinks: false }), c, sources()).env);
    expect(env.has("REDIS_MASTER_SERVICE_HOST")).toBe(false);
    expect(env.has("KUBERNETES_SERVICE_HOST")).toBe(true);
  });

  it("docker link variables of a service", () => {
    expect(serviceEnv(svc("shop", "redis-master", "10.0.0.11", [{ port: 6379 }]))).toEqual([
      ["REDIS_MASTER_SERVICE_HOST", "10.0.0.11"],
      ["REDIS_MASTER_SERVICE_PORT", "6379"],
      ["REDIS_MASTER_PORT", "tcp://10.0.0.11:6379"],
      ["REDIS_MASTER_PORT_6379_TCP", "tcp://10.0.0.11:6379"],
      ["REDIS_MASTER_PORT_6379_TCP_PROTO", "tcp"],
      ["REDIS_MASTER_PORT_6379_TCP_PORT", "6379"],
      ["REDIS_MASTER_PORT_6379_TCP_ADDR", "10.0.0.11"],
    ]);
  });

  it("command and args expand with the final environment", () => {
    expect(expandCommand(["echo", "$(A)", "$$(A)"], [["A", "1"]])).toEqual(["echo", "1", "$(A)"]);
  });
});

describe("pod DNS files", () => {
  it("ClusterFirst resolv.conf: cluster DNS, search path, ndots:5, dnsConfig merged", () => {
    const p = pod({ name: "a" }, { dnsConfig: { options: [{ name: "ndots", value: "2" }, { name: "edns0" }], searches: ["example.com"] } });
    expect(resolvConf(p, { clusterDns: ["127.96.0.10"], clusterDomain: "cluster.local", hostResolvConf: "nameserver 8.8.8.8\n" })).toBe(
      "search shop.svc.cluster.local svc.cluster.local cluster.local example.com\nnameserver 127.96.0.10\noptions ndots:2 edns0\n",
    );
    const d = pod({ name: "a" }, { dnsPolicy: "Default" });
    expect(resolvConf(d, { clusterDns: ["127.96.0.10"], clusterDomain: "cluster.local", hostResolvConf: "nameserver 8.8.8.8\nsearch lan\n" })).toBe("search lan\nnameserver 8.8.8.8\n");
  });
  it("hosts file with the FQDN of a pod with hostname and subdomain, and hostAliases", () => {
    const p = pod({ name: "a" }, { hostname: "web-0", subdomain: "nginx", hostAliases: [{ ip: "1.2.3.4", hostnames: ["foo.local", "bar.local"] }] });
    const text = hostsFile(p, "127.246.1.5", "cluster.local");
    expect(text).toContain("127.246.1.5\tweb-0.nginx.shop.svc.cluster.local\tweb-0\n");
    expect(text).toContain("# Entries added by HostAliases.\n1.2.3.4\tfoo.local\tbar.local\n");
    expect(text.startsWith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")).toBe(true);
  });
});
