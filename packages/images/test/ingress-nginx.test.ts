/** ingress-nginx's routing core: rules → servers/locations/upstreams, one request → a decision. */
import { describe, expect, it } from "vitest";
import { generate } from "selfsigned";
import { buildRoutingTable, type RoutingInputs } from "../src/ingress-nginx/routing.js";
import { route, routeToAlternative, type Decision, type RequestInfo } from "../src/ingress-nginx/match.js";
import { parseAnnotations } from "../src/ingress-nginx/annotations.js";
import type { EndpointSlice, Ingress, PathType, Secret, Service } from "../src/ingress-nginx/types.js";
import { containerArgv, ImageCatalog, matchExecutable } from "../src/catalog.js";
import { builtinImages } from "../src/builtin.js";
import { backendKey, stickyPick } from "../src/ingress-nginx/affinity.js";

let created = 0;
function ing(name: string, spec: Ingress["spec"], annotations: Record<string, string> = {}, ns = "default"): Ingress {
  created++;
  return { metadata: { name, namespace: ns, annotations, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, created)).toISOString() }, spec };
}
const rule = (host: string | undefined, paths: [string, PathType, string, number][]) => ({
  ...(host ? { host } : {}),
  http: { paths: paths.map(([path, pathType, svc, port]) => ({ path, pathType, backend: { service: { name: svc, port: { number: port } } } })) },
});
function svc(name: string, port = 80, target = 8080, ns = "default"): Service {
  return { metadata: { name, namespace: ns }, spec: { type: "ClusterIP", ports: [{ port, targetPort: target, protocol: "TCP" }] } };
}
function slice(service: string, ips: string[], port = 8080, ns = "default", ready = true): EndpointSlice {
  return { metadata: { name: `${service}-abc`, namespace: ns, labels: { "kubernetes.io/service-name": service } }, ports: [{ name: "", port, protocol: "TCP" }], endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready } })) };
}
function inputs(ingresses: Ingress[], services: Service[], slices: EndpointSlice[], secrets: Secret[] = []): RoutingInputs {
  const bySvc = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const k = `${s.metadata.namespace}/${s.metadata.labels!["kubernetes.io/service-name"]}`;
    bySvc.set(k, [...(bySvc.get(k) ?? []), s]);
  }
  return {
    ingresses,
    services: new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s])),
    endpointSlices: bySvc,
    secrets: new Map(secrets.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s])),
  };
}
function req(host: string, url: string, o: { scheme?: "http" | "https"; headers?: Record<string, string>; cookies?: Record<string, string> } = {}): RequestInfo {
  const h = Object.fromEntries(Object.entries(o.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return { host, url, scheme: o.scheme ?? "http", header: (n) => h[n.toLowerCase()], cookie: (n) => o.cookies?.[n] };
}
const never = () => 100;
/** Where a decision sends the request: the upstream name (with the alternative), or what else happens. */
function where(d: Decision): string {
  if (d.kind === "proxy") return `${d.target.name} ${d.uri}`;
  if (d.kind === "redirect") return `308 ${d.location}`;
  if (d.kind === "unavailable") return `503 ${d.upstream}`;
  return "404";
}

describe("host and path rules", () => {
  const table = buildRoutingTable(
    inputs(
      [
        ing("shopping", { rules: [rule(undefined, [["/", "Prefix", "svc-shopping", 8080], ["/customer", "Prefix", "svc-customer", 8080], ["/order", "Exact", "svc-order", 8080]])] }),
        ing("hosts", { rules: [rule("foo.example.com", [["/", "Prefix", "foo", 80]]), rule("*.wild.com", [["/app", "ImplementationSpecific", "bar", 80]])] }),
      ],
      [svc("svc-shopping", 8080), svc("svc-customer", 8080), svc("svc-order", 8080), svc("foo"), svc("bar")],
      [slice("svc-shopping", ["127.232.1.2"]), slice("svc-customer", ["127.232.1.3"]), slice("svc-order", ["127.232.1.4"]), slice("foo", ["127.232.1.5"]), slice("bar", ["127.232.1.6"])],
    ),
  );
  it.each([
    ["10.0.0.1", "/", "default-svc-shopping-8080 /"],
    ["10.0.0.1", "/customer", "default-svc-customer-8080 /customer"],
    ["10.0.0.1", "/customer/", "default-svc-customer-8080 /customer/"],
    ["10.0.0.1", "/customer/help?x=1", "default-svc-customer-8080 /customer/help?x=1"],
    // Prefix matches whole path elements only.
    ["10.0.0.1", "/customers", "default-svc-shopping-8080 /customers"],
    ["10.0.0.1", "/order", "default-svc-order-8080 /order"],
    ["10.0.0.1", "/order/1", "default-svc-shopping-8080 /order/1"],
    ["foo.example.com", "/anything", "default-foo-80 /anything"],
    ["FOO.example.com:80", "/", "default-foo-80 /"],
    // ImplementationSpecific is nginx's plain prefix: /application matches /app.
    ["a.wild.com", "/application", "default-bar-80 /application"],
    ["a.b.wild.com", "/app", "default-bar-80 /app"],
    // The host's server has no / rule: its default location is the default backend.
    ["a.wild.com", "/", "404"],
  ])("%s%s → %s", (host, url, want) => {
    expect(where(route(table, req(host, url), never))).toBe(want);
  });

  it("an Ingress's defaultBackend without rules becomes the catch-all; with rules, the default of its hosts", () => {
    const t = buildRoutingTable(
      inputs(
        [ing("catch", { defaultBackend: { service: { name: "def", port: { number: 80 } } } }), ing("h", { defaultBackend: { service: { name: "hdef", port: { number: 80 } } }, rules: [rule("h.com", [["/api", "Prefix", "api", 80]])] })],
        [svc("def"), svc("hdef"), svc("api")],
        [slice("def", ["127.232.2.1"]), slice("hdef", ["127.232.2.2"]), slice("api", ["127.232.2.3"])],
      ),
    );
    expect(where(route(t, req("unknown.com", "/x"), never))).toBe("default-def-80 /x");
    expect(where(route(t, req("h.com", "/other"), never))).toBe("default-hdef-80 /other");
    expect(where(route(t, req("h.com", "/api/v1"), never))).toBe("default-api-80 /api/v1");
  });

  it("the oldest Ingress wins a host/path both declare", () => {
    const t = buildRoutingTable(inputs([ing("old", { rules: [rule("x.com", [["/", "Prefix", "a", 80]])] }), ing("new", { rules: [rule("x.com", [["/", "Prefix", "b", 80]])] })], [svc("a"), svc("b")], [slice("a", ["127.232.3.1"]), slice("b", ["127.232.3.2"])]));
    expect(where(route(t, req("x.com", "/"), never))).toBe("default-a-80 /");
  });

  it("a missing Service is 503 for its paths only; unready endpoints are left out", () => {
    const t = buildRoutingTable(
      inputs([ing("broken", { rules: [rule("x.com", [["/gone", "Prefix", "missing", 80], ["/", "Prefix", "ok", 80], ["/idle", "Prefix", "idle", 80]])] })], [svc("ok"), svc("idle")], [slice("ok", ["127.232.4.1"]), slice("idle", ["127.232.4.2"], 8080, "default", false)]),
    );
    expect(where(route(t, req("x.com", "/gone"), never))).toBe("503 default-missing-80");
    expect(where(route(t, req("x.com", "/idle"), never))).toBe("503 default-idle-80");
    expect(where(route(t, req("x.com", "/"), never))).toBe("default-ok-80 /");
    expect(t.warnings).toContain('Error obtaining Endpoints for Service "default/missing": no object matching key "default/missing" in local store');
    expect(t.warnings).toContain('Service "default/idle" does not have any active Endpoint.');
  });

  it("endpoints are the slices' ready addresses with the port the Service's targetPort names", () => {
    const s: Service = { metadata: { name: "named", namespace: "default" }, spec: { ports: [{ name: "web", port: 80, targetPort: "http" }] } };
    const sl: EndpointSlice = { metadata: { name: "named-1", namespace: "default", labels: { "kubernetes.io/service-name": "named" } }, ports: [{ name: "web", port: 9376, protocol: "TCP" }], endpoints: [{ addresses: ["127.232.5.1"], conditions: { ready: true } }, { addresses: ["127.232.5.2"] }] };
    const t = buildRoutingTable(inputs([ing("n", { rules: [rule("n.com", [["/", "Prefix", "named", 80]])] })], [s], [sl]));
    expect(t.upstreams.get("default-named-80")!.endpoints).toEqual([{ address: "127.232.5.1", port: 9376 }, { address: "127.232.5.2", port: 9376 }]);
  });
});

describe("rewrite-target and use-regex", () => {
  const t = buildRoutingTable(
    inputs(
      [
        ing("rw", { rules: [rule("rw.com", [["/something(/|$)(.*)", "ImplementationSpecific", "app", 80], ["/plain", "Prefix", "app", 80]])] }, { "nginx.ingress.kubernetes.io/rewrite-target": "/$2" }),
        ing("re", { rules: [rule("re.com", [["/v[0-9]+/users", "ImplementationSpecific", "app", 80]])] }, { "nginx.ingress.kubernetes.io/use-regex": "true" }),
      ],
      [svc("app")],
      [slice("app", ["127.232.6.1"])],
    ),
  );
  it.each([
    ["rw.com", "/something", "default-app-80 /"],
    ["rw.com", "/something/", "default-app-80 /"],
    ["rw.com", "/something/new?q=1", "default-app-80 /new?q=1"],
    ["rw.com", "/SOMETHING/x", "default-app-80 /x"],
    // The whole server is regex now: /plain is ~* "^/plain", and rewritten to /$2 too (no captures: /).
    ["rw.com", "/plainly", "default-app-80 /"],
    ["re.com", "/v2/users/7", "default-app-80 /v2/users/7"],
    ["re.com", "/vx/users", "404"],
  ])("%s%s → %s", (host, url, want) => {
    expect(where(route(t, req(host, url), never))).toBe(want);
  });
});

describe("bad input", () => {
  it("an invalid regex path matches nothing while the server's other paths still route", () => {
    const t = buildRoutingTable(
      inputs([ing("bad-re", { rules: [rule("re.com", [["/(unclosed", "ImplementationSpecific", "app", 80], ["/ok", "Prefix", "app", 80]])] }, { "nginx.ingress.kubernetes.io/use-regex": "true" })], [svc("app")], [slice("app", ["127.232.10.1"])]),
    );
    expect(where(route(t, req("re.com", "/(unclosed"), never))).toBe("404");
    expect(where(route(t, req("re.com", "/ok/1"), never))).toBe("default-app-80 /ok/1");
  });

  it("rules without http, resource backends and a port name the Service lacks cost only themselves", () => {
    const t = buildRoutingTable(
      inputs(
        [ing("odd", { rules: [{ host: "nohttp.com" }, { host: "x.com", http: { paths: [{ path: "/r", pathType: "Prefix", backend: { resource: { kind: "Bucket", name: "b" } } }, { path: "/named", pathType: "Prefix", backend: { service: { name: "app", port: { name: "nope" } } } }, { path: "/", pathType: "Prefix", backend: { service: { name: "app", port: { number: 80 } } } }] } }] })],
        [svc("app")],
        [slice("app", ["127.232.11.1"])],
      ),
    );
    expect(where(route(t, req("x.com", "/named"), never))).toBe("503 default-app-nope");
    expect(where(route(t, req("x.com", "/r"), never))).toBe("default-app-80 /r");
    expect(where(route(t, req("nohttp.com", "/"), never))).toBe("404");
  });
});

describe("canary", () => {
  const main = ing("main", { rules: [rule("www.app.com", [["/", "Prefix", "svc-v1", 8080]])] });
  const services = [svc("svc-v1", 8080), svc("svc-v2", 8080)];
  const slices = [slice("svc-v1", ["127.232.7.1"]), slice("svc-v2", ["127.232.7.2"])];
  const canary = (anns: Record<string, string>) => ing(`canary-${created}`, { rules: [rule("www.app.com", [["/", "Prefix", "svc-v2", 8080]])] }, { "nginx.ingress.kubernetes.io/canary": "true", ...anns });

  it("canary-weight 10 sends about 10 % (an injected random source: exactly the draws ≤ 10)", () => {
    const t = buildRoutingTable(inputs([main, canary({ "nginx.ingress.kubernetes.io/canary-weight": "10" })], services, slices));
    // mulberry32: a seeded, uniform source (Lua's math.random(n) as floor(u * n) + 1).
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return Math.floor((((x ^ (x >>> 14)) >>> 0) / 2 ** 32) * n) + 1;
    };
    let v2 = 0;
    for (let i = 0; i < 10_000; i++) {
      const d = route(t, req("www.app.com", "/"), random);
      if (d.kind === "proxy" && d.alternative === "default-svc-v2-8080") v2++;
    }
    expect(v2).toBeGreaterThan(850);
    expect(v2).toBeLessThan(1150);
    const at = (n: number) => route(t, req("www.app.com", "/"), () => n) as Extract<Decision, { kind: "proxy" }>;
    expect(at(10).target.name).toBe("default-svc-v2-8080");
    expect(at(10).upstream).toBe("default-svc-v1-8080");
    expect(at(11).target.name).toBe("default-svc-v1-8080");
    expect(at(11).alternative).toBe("");
  });

  it("canary-by-header with a value: only that value goes to the canary; other values fall through to the weight", () => {
    const t = buildRoutingTable(inputs([main, canary({ "nginx.ingress.kubernetes.io/canary-by-header": "Accept-Language", "nginx.ingress.kubernetes.io/canary-by-header-value": "kr" })], services, slices));
    expect(where(route(t, req("www.app.com", "/"), never))).toBe("default-svc-v1-8080 /");
    expect(where(route(t, req("www.app.com", "/", { headers: { "accept-language": "kr" } }), never))).toBe("default-svc-v2-8080 /");
    expect(where(route(t, req("www.app.com", "/", { headers: { "accept-language": "en" } }), never))).toBe("default-svc-v1-8080 /");
  });

  it("canary-by-header without a value: always / never override the weight; canary-by-cookie likewise", () => {
    const policy = parseAnnotations(canary({ "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary", "nginx.ingress.kubernetes.io/canary-by-cookie": "canary", "nginx.ingress.kubernetes.io/canary-weight": "100" })).canary;
    const always = () => 1;
    expect(routeToAlternative(policy, req("h", "/", { headers: { "x-canary": "always" } }), never)).toBe(true);
    expect(routeToAlternative(policy, req("h", "/", { headers: { "x-canary": "never" } }), always)).toBe(false);
    // Another header value: the cookie decides, then the weight.
    expect(routeToAlternative(policy, req("h", "/", { headers: { "x-canary": "maybe" }, cookies: { canary: "never" } }), always)).toBe(false);
    expect(routeToAlternative(policy, req("h", "/", { cookies: { canary: "always" } }), never)).toBe(true);
    expect(routeToAlternative({ ...policy, weight: 0 }, req("h", "/"), always)).toBe(false);
    expect(routeToAlternative({ ...policy, weight: 100 }, req("h", "/"), never)).toBe(true);
  });

  it("a canary for a host no other Ingress serves routes nothing; a canary without endpoints leaves traffic on the primary", () => {
    const lonely = ing("lonely", { rules: [rule("other.com", [["/", "Prefix", "svc-v2", 8080]])] }, { "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "100" });
    const t = buildRoutingTable(inputs([main, lonely], services, slices));
    expect(t.warnings).toContain("cannot merge alternative backend default-svc-v2-8080 into hostname other.com that does not exist");
    expect(where(route(t, req("other.com", "/"), never))).toBe("404");
    const t2 = buildRoutingTable(inputs([main, canary({ "nginx.ingress.kubernetes.io/canary-weight": "100" })], services, [slices[0]!]));
    expect(where(route(t2, req("www.app.com", "/"), () => 1))).toBe("default-svc-v1-8080 /");
  });
});

describe("cookie affinity", () => {
  const anns = { "nginx.ingress.kubernetes.io/affinity": "cookie", "nginx.ingress.kubernetes.io/session-cookie-max-age": "172800" };
  const sticky = ing("sticky", { rules: [rule("s.com", [["/", "Prefix", "web", 80]])] }, anns);
  const t = buildRoutingTable(inputs([sticky], [svc("web")], [slice("web", ["127.232.12.1", "127.232.12.2", "127.232.12.3"])]));

  it("a request without the cookie gets INGRESSCOOKIE=<key>|<backend key>; with it, always the same endpoint", () => {
    const ups = t.upstreams.get("default-web-80")!;
    const first = stickyPick(ups, { host: "s.com", scheme: "http", locationPath: "/", cookie: () => undefined }, Date.UTC(2026, 11, 3), () => 42);
    expect(first.setCookie).toMatch(new RegExp(`^INGRESSCOOKIE=\\d+\\.\\d{3}\\.\\d+\\.42\\|${backendKey("default-web-80")}; Max-Age=172800; Path=/; HttpOnly$`));
    const value = first.setCookie!.split(";")[0]!.slice("INGRESSCOOKIE=".length);
    for (let i = 0; i < 20; i++) {
      const again = stickyPick(ups, { host: "s.com", scheme: "http", locationPath: "/", cookie: (n) => (n === "INGRESSCOOKIE" ? value : undefined) }, Date.now(), () => i + 1);
      expect(again.endpoint).toEqual(first.endpoint);
      expect(again.setCookie).toBeUndefined();
    }
    // Different keys spread over the endpoints.
    const seen = new Set<string>();
    for (let i = 1; i <= 60; i++) seen.add(stickyPick(ups, { host: "s.com", scheme: "https", locationPath: "/", cookie: () => undefined }, 1_000_000 + i, () => i).endpoint.address);
    expect(seen.size).toBe(3);
  });

  it("with a canary: a cookie of the primary stays there whatever the weight; one of the canary goes there", () => {
    const main = ing("main-s", { rules: [rule("c.com", [["/", "Prefix", "v1", 80]])] }, anns);
    const can = ing("can-s", { rules: [rule("c.com", [["/", "Prefix", "v2", 80]])] }, { "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "100" });
    const tc = buildRoutingTable(inputs([main, can], [svc("v1"), svc("v2")], [slice("v1", ["127.232.13.1"]), slice("v2", ["127.232.13.2"])]));
    const withCookie = (backend: string) => req("c.com", "/", { cookies: { INGRESSCOOKIE: `1.2.3|${backendKey(backend)}` } });
    expect(where(route(tc, withCookie("default-v1-80"), () => 1))).toBe("default-v1-80 /");
    expect(where(route(tc, withCookie("default-v2-80"), () => 1))).toBe("default-v2-80 /");
    expect(where(route(tc, req("c.com", "/"), () => 1))).toBe("default-v2-80 /");
    expect(tc.upstreams.get("default-v2-80")!.affinity?.name).toBe("INGRESSCOOKIE");
  });
});

describe("TLS", () => {
  const pair = async (cn: string) => {
    const p = await generate([{ name: "commonName", value: cn }], { keyType: "ec", algorithm: "sha256", extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: cn }] }] });
    return { cert: p.cert, key: p.private };
  };
  const tlsSecret = (name: string, p: { cert: string; key: string }): Secret => ({ metadata: { name, namespace: "default" }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from(p.cert).toString("base64"), "tls.key": Buffer.from(p.key).toString("base64") } });

  it("a host in a TLS section serves its Secret's certificate and redirects HTTP with 308; a missing Secret means the default certificate and no redirect", async () => {
    const secure = await pair("secure.com");
    const t = buildRoutingTable(
      inputs(
        [
          ing("tls", { tls: [{ hosts: ["secure.com"], secretName: "secure-tls" }], rules: [rule("secure.com", [["/", "Prefix", "app", 80]])] }),
          ing("tls-missing", { tls: [{ hosts: ["nosecret.com"], secretName: "absent" }], rules: [rule("nosecret.com", [["/", "Prefix", "app", 80]])] }),
          ing("no-redirect", { tls: [{ hosts: ["plain.com"], secretName: "plain-tls" }], rules: [rule("plain.com", [["/", "Prefix", "app", 80]])] }, { "nginx.ingress.kubernetes.io/ssl-redirect": "false" }),
        ],
        [svc("app")],
        [slice("app", ["127.232.8.1"])],
        [tlsSecret("secure-tls", secure), tlsSecret("plain-tls", await pair("plain.com"))],
      ),
    );
    expect(t.servers.get("secure.com")!.certificate?.secret).toBe("default/secure-tls");
    expect(t.servers.get("nosecret.com")!.certificate).toBeUndefined();
    expect(t.warnings).toContain('Error getting SSL certificate "default/absent": local SSL certificate default/absent was not found. Using default certificate');
    expect(where(route(t, req("secure.com", "/"), never))).toBe("308 https://secure.com");
    expect(where(route(t, req("secure.com", "/a/?b=1"), never))).toBe("308 https://secure.com/a/?b=1");
    expect(where(route(t, req("secure.com", "/a", { scheme: "https" }), never))).toBe("default-app-80 /a");
    expect(where(route(t, req("nosecret.com", "/"), never))).toBe("default-app-80 /");
    expect(where(route(t, req("plain.com", "/"), never))).toBe("default-app-80 /");
  });

  it("a certificate that does not name the host is not used", async () => {
    const t = buildRoutingTable(inputs([ing("wrong", { tls: [{ hosts: ["a.com"], secretName: "b-tls" }], rules: [rule("a.com", [["/", "Prefix", "app", 80]])] })], [svc("app")], [slice("app", ["127.232.9.1"])], [tlsSecret("b-tls", await pair("b.com"))]));
    expect(t.servers.get("a.com")!.certificate).toBeUndefined();
    expect(t.warnings.some((w) => w.startsWith('SSL certificate "default/b-tls" does not contain a Common Name or Subject Alternative Name for server "a.com"'))).toBe(true);
  });
});

describe("the image", () => {
  it("minikube's args run /nginx-ingress-controller through dumb-init's entrypoint", () => {
    const img = new ImageCatalog(builtinImages).resolve("registry.k8s.io/ingress-nginx/controller:v1.15.1");
    expect(img?.name).toBe("registry.k8s.io/ingress-nginx/controller:v1.15.1");
    const argv = containerArgv(img!.entry, undefined, ["/nginx-ingress-controller", "--election-id=ingress-nginx-leader", "--watch-ingress-without-class=true"]);
    expect(argv).toEqual(["/usr/bin/dumb-init", "--", "/nginx-ingress-controller", "--election-id=ingress-nginx-leader", "--watch-ingress-without-class=true"]);
    expect(matchExecutable(img!.entry, argv)).toEqual({ executable: { program: "nginx-ingress-controller" }, rest: ["--election-id=ingress-nginx-leader", "--watch-ingress-without-class=true"] });
  });
});
