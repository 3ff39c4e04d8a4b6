import { describe, expect, it } from "vitest";
import { cantResolve, formatHost, parseArgs, parseResolvConf, searchCandidates } from "../src/nslookup/busybox-128.js";

describe("busybox 1.28's nslookup", () => {
  it("prints seed 000's answer: the server with its reverse name, a blank line, the name as typed", () => {
    const out =
      `${formatHost("Server:", "10.0.0.10", { addresses: [{ address: "10.0.0.10", name: "kube-dns.kube-system.svc.cluster.local" }] })}\n` +
      formatHost("Name:", "web-0.nginx", { addresses: [{ address: "10.244.1.6" }] });
    expect(out).toBe("Server:    10.0.0.10\nAddress 1: 10.0.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      web-0.nginx\nAddress 1: 10.244.1.6\n");
  });
  it("numbers every address; failures in 1.28's words", () => {
    expect(formatHost("Name:", "nginx", { addresses: [{ address: "127.244.1.5", name: "web-0.nginx.default.svc.cluster.local" }, { address: "127.244.1.6", name: "web-1.nginx.default.svc.cluster.local" }] })).toBe(
      "Name:      nginx\nAddress 1: 127.244.1.5 web-0.nginx.default.svc.cluster.local\nAddress 2: 127.244.1.6 web-1.nginx.default.svc.cluster.local\n",
    );
    expect(cantResolve("kubernetes.default")).toBe("nslookup: can't resolve 'kubernetes.default'\n");
  });
  it("arguments: HOST [SERVER]; none, an option or three are usage", () => {
    expect(parseArgs(["web-0.nginx"])).toEqual({ host: "web-0.nginx" });
    expect(parseArgs(["web-0.nginx", "10.0.0.10"])).toEqual({ host: "web-0.nginx", server: "10.0.0.10" });
    expect(parseArgs([])).toBeUndefined();
    expect(parseArgs(["-type=a", "x"])).toBeUndefined();
    expect(parseArgs(["a", "b", "c"])).toBeUndefined();
  });
  it("resolv.conf and res_search's order of names (ndots)", () => {
    const conf = parseResolvConf("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.96.0.10\nnameserver 8.8.8.8 # second\noptions ndots:5\n");
    expect(conf).toEqual({ nameservers: ["127.96.0.10", "8.8.8.8"], search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], ndots: 5 });
    expect(parseResolvConf("")).toEqual({ nameservers: [], search: [], ndots: 1 });
    expect(searchCandidates("web-0.nginx", ["default.svc.cluster.local", "cluster.local"], 5)).toEqual(["web-0.nginx.default.svc.cluster.local", "web-0.nginx.cluster.local", "web-0.nginx"]);
    expect(searchCandidates("a.b.c", ["x"], 2)).toEqual(["a.b.c", "a.b.c.x"]);
    expect(searchCandidates("example.com.", ["x"], 5)).toEqual(["example.com"]);
  });
});
