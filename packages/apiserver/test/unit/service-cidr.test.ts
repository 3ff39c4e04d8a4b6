import { describe, expect, it } from "vitest";
import { ServiceCidr } from "../../src/allocators/service-cidr.js";
import { ConfigError, parseArgs } from "../../src/config.js";
import { failure, newStore } from "./helpers.js";

describe("--service-cluster-ip-range", () => {
  it("parses a /16–/28 IPv4 network and maps offsets both ways", () => {
    const c = ServiceCidr.parse("127.96.220.0/24") as ServiceCidr;
    expect(c.size).toBe(256);
    expect(c.kubernetesServiceIp).toBe("127.96.220.1");
    expect(c.offsetOf("127.96.220.10")).toBe(10);
    expect(c.offsetOf("127.96.221.1")).toBeUndefined();
    expect(c.ipAt(255)).toBe("127.96.220.255");
    expect(ServiceCidr.parse("127.96.220.5/24")).toMatch(/host bits are set/);
    expect(ServiceCidr.parse("127.0.0.0/8")).toMatch(/between \/16 and \/28/);
    expect(ServiceCidr.parse("fd00::/112")).toMatch(/IPv4 CIDR/);
  });

  it("is a flag with 127.96.0.0/16 as its default; a bad value is one ConfigError line", () => {
    expect(parseArgs(["--storage", "memory"]).serviceCidr.text).toBe("127.96.0.0/16");
    expect(parseArgs(["--storage", "memory", "--service-cluster-ip-range", "127.96.220.0/24"]).serviceCidr.kubernetesServiceIp).toBe("127.96.220.1");
    expect(() => parseArgs(["--storage", "memory", "--service-cluster-ip-range", "10.0.0.0"])).toThrow(ConfigError);
  });

  it("gives the kubernetes Service the range's first address and allocates inside the range only", async () => {
    const { store, def } = await newStore({ serviceCidr: "127.96.220.0/24" });
    const svc = def("", "services");
    expect(((await store.get(svc, "default", "kubernetes")) as any).spec.clusterIP).toBe("127.96.220.1");
    const a = (await store.create(svc, "default", { metadata: { name: "a" }, spec: { selector: { app: "a" }, ports: [{ port: 80 }] } })) as any;
    expect(a.spec.clusterIP).toMatch(/^127\.96\.220\.\d+$/);
    expect(["127.96.220.0", "127.96.220.1", "127.96.220.10", "127.96.220.255"]).not.toContain(a.spec.clusterIP);
    const f = await failure(store.create(svc, "default", { metadata: { name: "b" }, spec: { clusterIP: "127.96.0.5", ports: [{ port: 80 }] } }));
    expect(f.status.reason).toBe("Invalid");
    expect(f.status.message).toContain("The range of valid IPs is 127.96.220.0/24");
  });
});
