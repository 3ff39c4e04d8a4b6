/**
 * Real kubectl 1.32 (and 1.33) `create <generator>` sends protobuf bodies. Each case runs the generator twice
 * against a fake server: once for real (protobuf POST, decoded by decodeProtobufBody) and once with
 * `--dry-run=client -o json` (kubectl's own JSON of the same object). The two must agree.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeApiServer, kubectlBinary } from "../openapi/fake-apiserver.js";

const binaries = [32, 33].map((minor) => [minor, kubectlBinary(minor)] as const).filter((b): b is readonly [number, string] => b[1] !== undefined);

/** kubectl's JSON prints unset structs as `{}` and unset times as null; a decoded body may omit them. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const n = normalize(val);
    if (n === null || (typeof n === "object" && !Array.isArray(n) && Object.keys(n as object).length === 0)) continue;
    out[k] = n;
  }
  return out;
}

describe.skipIf(binaries.length === 0).each(binaries)("protobuf bodies from real kubectl 1.%i", (_minor, kubectl) => {
  let server: FakeApiServer;
  beforeAll(async () => {
    server = await new FakeApiServer().start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const cases: [string, string[]][] = [
    ["configmap", ["create", "configmap", "c1", "--from-literal=a=b", "--from-literal=empty="]],
    ["secret", ["create", "secret", "generic", "s1", "--from-literal=user=admin", "--from-literal=pw=s3cr\u00e9t"]],
    ["secret tls-like docker", ["create", "secret", "docker-registry", "reg", "--docker-server=r.example", "--docker-username=u", "--docker-password=p"]],
    ["deployment", ["create", "deployment", "d1", "--image=nginx:1.27", "--replicas=3", "--port=8080"]],
    ["deployment with zero replicas", ["create", "deployment", "d0", "--image=busybox", "--replicas=0", "--", "sleep", "3600"]],
    ["namespace", ["create", "namespace", "team-a"]],
    ["service clusterip", ["create", "service", "clusterip", "web", "--tcp=80:8080", "--tcp=443:https"]],
    ["service nodeport", ["create", "service", "nodeport", "np", "--tcp=80:80", "--node-port=30080"]],
    ["job", ["create", "job", "j1", "--image=busybox", "--", "sh", "-c", "echo hi"]],
    ["cronjob", ["create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"]],
  ];

  it.each(cases)("%s decodes to kubectl's own JSON", async (_name, args) => {
    const expectedRun = await server.kubectl(kubectl, [...args.slice(0, args.indexOf("--") < 0 ? args.length : args.indexOf("--")), "--dry-run=client", "-o", "json", ...(args.includes("--") ? args.slice(args.indexOf("--")) : [])]);
    expect(expectedRun.code, expectedRun.stderr).toBe(0);
    const expected = JSON.parse(expectedRun.stdout);

    const before = server.requests.length;
    const run = await server.kubectl(kubectl, args);
    expect(run.code, run.stderr).toBe(0);
    const post = server.requests.slice(before).find((r) => r.method === "POST");
    expect(post?.contentType).toBe("application/vnd.kubernetes.protobuf");
    expect(normalize(post?.decoded)).toEqual(normalize(expected));
  });

  it("keeps an explicit zero (replicas=0) and base64-encodes secret bytes", async () => {
    const d = server.requests.find((r) => r.method === "POST" && r.url.includes("/deployments") && (r.decoded as any)?.metadata?.name === "d0");
    expect((d?.decoded as any).spec.replicas).toBe(0);
    const s = server.requests.find((r) => r.method === "POST" && (r.decoded as any)?.metadata?.name === "s1");
    expect((s?.decoded as any).data).toEqual({ user: Buffer.from("admin").toString("base64"), pw: Buffer.from("s3cr\u00e9t").toString("base64") });
    const c = server.requests.find((r) => r.method === "POST" && (r.decoded as any)?.metadata?.name === "c1");
    expect((c?.decoded as any).data).toEqual({ a: "b", empty: "" });
  });

  it("decodes auth can-i (SelfSubjectAccessReview) and create token (TokenRequest)", async () => {
    const before = server.requests.length;
    const canI = await server.kubectl(kubectl, ["auth", "can-i", "get", "pods", "-n", "kube-system"]);
    expect(canI.stdout.trim()).toBe("no"); // the fake server echoes the review without status.allowed
    await server.kubectl(kubectl, ["create", "token", "builder", "--duration=10m"]);
    const posts = server.requests.slice(before).filter((r) => r.method === "POST");
    expect(posts.map((p) => p.contentType)).toEqual(["application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf"]);
    expect(posts[0]?.decoded).toMatchObject({ apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { namespace: "kube-system", verb: "get", resource: "pods" } } });
    expect(posts[1]?.url).toBe("/api/v1/namespaces/default/serviceaccounts/builder/token");
    expect(posts[1]?.decoded).toMatchObject({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } });
  });
});
