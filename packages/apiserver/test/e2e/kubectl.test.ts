/**
 * The real kubectl against two kubemu-apiservers on a real 3-member Raft store (processes).
 * Subnets 127.0.87.x (etcd) and 127.0.144.x (apiservers) keep clear of `kubemu up`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2eCluster } from "./cluster.js";
import { Kubectl, pinnedKubectl } from "./kubectl-run.js";

const cluster = new E2eCluster("127.0.143", "127.0.144", 2);
let k: Kubectl;
let k1: Kubectl;
let dir = "";

const manifest = (replicas: number, image = "nginx:1.25") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: ${image}
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - port: 80
    nodePort: 30080
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubemu-kubectl-"));
  await cluster.start();
  k = new Kubectl(await cluster.kubeconfig(0), join(dir, "cache0"));
  k1 = new Kubectl(await cluster.kubeconfig(1), join(dir, "cache1"));
}, 60_000);

afterAll(async () => {
  await cluster.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

describe("kubectl 1.32 (dispatcher) against kubemu-apiserver", { timeout: 60_000 }, () => {
  it("version, namespaces, api-resources, the kubernetes service and its endpoints", async () => {
    expect(await k.ok(["version"])).toContain("Server Version: v1.32.4-kubemu");
    const ns = await k.ok(["get", "ns"]);
    for (const n of ["default", "kube-node-lease", "kube-public", "kube-system"]) expect(ns).toMatch(new RegExp(`^${n}\\s+Active\\s+\\d+s`, "m"));
    expect(ns.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+AGE$/);
    const ar = await k.ok(["api-resources"]);
    expect(ar).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(await k.ok(["get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"])).toBe("127.96.0.1");
    // Both servers renew their leases; the reconciler lists both within a few seconds.
    let eps = "";
    const both = () => eps.includes("127.0.144.1") && eps.includes("127.0.144.2");
    for (let i = 0; i < 40 && !both(); i++) {
      eps = await k.ok(["get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[0].addresses[*].ip}"]);
      if (!both()) await new Promise((r) => setTimeout(r, 250));
    }
    expect(eps).toBe("127.0.144.1 127.0.144.2");
  });

  it("apply creates, apply updates (SMP), and the other server sees it", async () => {
    await writeFile(join(dir, "web.yaml"), manifest(2));
    expect(await k.ok(["apply", "-f", join(dir, "web.yaml")])).toBe("deployment.apps/web created\nservice/web created\n");
    await writeFile(join(dir, "web.yaml"), manifest(3, "nginx:1.26"));
    expect(await k.ok(["apply", "-f", join(dir, "web.yaml")])).toBe("deployment.apps/web configured\nservice/web unchanged\n");
    const out = await k1.ok(["get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.metadata.generation}"]);
    expect(out).toBe("3 nginx:1.26 2");
    const wide = await k1.ok(["get", "deploy", "web", "-o", "wide"]);
    expect(wide.split("\n")[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/);
    expect(wide).toMatch(/^web\s+0\/3\s+0\s+0\s+\d+s\s+nginx\s+nginx:1.26\s+app=web$/m);
    const svc = await k.ok(["get", "svc", "web"]);
    expect(svc).toMatch(/^web\s+NodePort\s+127\.96\.\d+\.\d+\s+<none>\s+80:30080\/TCP\s+\d+s$/m);
  });

  it("output formats: yaml, json, jsonpath, custom-columns, go-template, name", async () => {
    const yaml = await k.ok(["get", "deploy", "web", "-o", "yaml"]);
    expect(yaml).toContain("kind: Deployment");
    expect(yaml).toContain("progressDeadlineSeconds: 600");
    const json = JSON.parse(await k.ok(["get", "deploy", "web", "-o", "json"]));
    expect(json.spec.strategy.rollingUpdate).toEqual({ maxSurge: "25%", maxUnavailable: "25%" });
    expect(await k.ok(["get", "deploy", "-o", "custom-columns=N:.metadata.name,R:.spec.replicas", "--no-headers"])).toMatch(/^web\s+3$/m);
    expect(await k.ok(["get", "deploy", "web", "-o", "go-template={{.metadata.name}}-{{.spec.replicas}}"])).toBe("web-3");
    expect(await k.ok(["get", "deploy,svc", "-o", "name"])).toBe("deployment.apps/web\nservice/kubernetes\nservice/web\n");
  });

  it("create -f twice → AlreadyExists; generators (protobuf bodies) for configmap, secret, namespace, deployment", async () => {
    await writeFile(join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n");
    expect(await k.ok(["create", "-f", join(dir, "cm.yaml")])).toBe("configmap/cfg created\n");
    const again = await k.run(["create", "-f", join(dir, "cm.yaml")]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('Error from server (AlreadyExists): error when creating');
    expect(again.stderr).toContain('configmaps "cfg" already exists');
    expect(await k.ok(["create", "configmap", "gen", "--from-literal=k=v"])).toBe("configmap/gen created\n");
    expect(await k.ok(["get", "cm", "gen", "-o", "jsonpath={.data.k}"])).toBe("v");
    expect(await k.ok(["create", "secret", "generic", "sec", "--from-literal=pw=s3cret"])).toBe("secret/sec created\n");
    expect(Buffer.from(await k.ok(["get", "secret", "sec", "-o", "jsonpath={.data.pw}"]), "base64").toString()).toBe("s3cret");
    expect(await k.ok(["create", "namespace", "team"])).toBe("namespace/team created\n");
    expect(await k.ok(["create", "deployment", "gen", "--image=busybox", "-n", "team"])).toBe("deployment.apps/gen created\n");
    const cms = await k.ok(["get", "cm"]);
    expect(cms.split("\n")[0]).toMatch(/^NAME\s+DATA\s+AGE$/);
  });

  it("replace, and replace with a stale resourceVersion → Conflict", async () => {
    const cur = JSON.parse(await k.ok(["get", "cm", "cfg", "-o", "json"]));
    cur.data.a = "c";
    await writeFile(join(dir, "cm.json"), JSON.stringify(cur));
    expect(await k.ok(["replace", "-f", join(dir, "cm.json")])).toBe("configmap/cfg replaced\n");
    const stale = await k.run(["replace", "-f", join(dir, "cm.json")]);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain("Error from server (Conflict)");
    expect(stale.stderr).toContain("the object has been modified");
  });

  it("patch (strategic, merge, json), label, annotate, scale", async () => {
    expect(await k.ok(["patch", "deploy", "web", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}'])).toBe("deployment.apps/web patched\n");
    expect(await k.ok(["patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"paused":true}}'])).toBe("deployment.apps/web patched\n");
    expect(await k.ok(["patch", "deploy", "web", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":1}]'])).toBe("deployment.apps/web patched\n");
    expect(await k.ok(["label", "deploy", "web", "tier=fe"])).toBe("deployment.apps/web labeled\n");
    expect(await k.ok(["annotate", "deploy", "web", "note=hi"])).toBe("deployment.apps/web annotated\n");
    expect(await k.ok(["scale", "deploy", "web", "--replicas=4"])).toBe("deployment.apps/web scaled\n");
    const got = await k.ok(["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.paused} {.spec.replicas} {.metadata.labels.tier} {.metadata.annotations.note}"]);
    expect(got).toBe("nginx:1.27 true 4 fe hi");
    const bad = await k.run(["patch", "deploy", "web", "--type=json", "-p", '[{"op":"test","path":"/spec/replicas","value":9}]']);
    expect(bad.code).not.toBe(0);
  });

  it("get -w streams changes as table rows", async () => {
    const w = k.spawn(["get", "cm", "-w"]);
    try {
      let out = "";
      for (let i = 0; i < 50 && !out.includes("cfg"); i++) {
        await new Promise((r) => setTimeout(r, 100));
        out = w.output();
      }
      await k1.ok(["create", "configmap", "watched", "--from-literal=x=1"]);
      for (let i = 0; i < 50 && !w.output().includes("watched"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(w.output()).toMatch(/^watched\s+1\s+\d+s$/m);
    } finally {
      w.child.kill("SIGKILL");
    }
  });

  it("server-side apply creates, then conflicts with another manager unless forced", async () => {
    await writeFile(join(dir, "ssa.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"1\"\n");
    expect(await k.ok(["apply", "--server-side", "-f", join(dir, "ssa.yaml")])).toBe("configmap/ssa serverside-applied\n");
    await k.ok(["patch", "cm", "ssa", "--type=merge", "-p", '{"data":{"a":"2"}}']);
    const conflict = await k.run(["apply", "--server-side", "-f", join(dir, "ssa.yaml")]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain("conflict");
    expect(await k.ok(["apply", "--server-side", "--force-conflicts", "-f", join(dir, "ssa.yaml")])).toBe("configmap/ssa serverside-applied\n");
    expect(await k.ok(["get", "cm", "ssa", "-o", "jsonpath={.data.a}"])).toBe("1");
  });

  it("edit (scripted EDITOR), wait, run, expose, describe, get events", async () => {
    await writeFile(join(dir, "editor.sh"), "#!/bin/sh\nsed -i 's/replicas: 4/replicas: 6/' \"$1\"\n", { mode: 0o755 });
    expect(await k.ok(["edit", "deploy", "web"], { env: { EDITOR: join(dir, "editor.sh"), KUBE_EDITOR: join(dir, "editor.sh") } })).toBe("deployment.apps/web edited\n");
    expect(await k.ok(["wait", "--for=jsonpath={.spec.replicas}=6", "deploy/web", "--timeout=10s"])).toBe("deployment.apps/web condition met\n");
    expect(await k.ok(["run", "runner", "--image=busybox", "--", "sleep", "60"])).toBe("pod/runner created\n");
    const pod = await k.ok(["get", "pod", "runner"]);
    expect(pod).toMatch(/^runner\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    expect(await k.ok(["expose", "pod", "runner", "--port=80", "--name=runner-svc"])).toBe("service/runner-svc exposed\n");
    const desc = await k.ok(["describe", "pod", "runner"]);
    expect(desc).toMatch(/^Name:\s+runner$/m);
    expect(desc).toContain("node.kubernetes.io/not-ready:NoExecute op=Exists for 10s");
    const uid = await k.ok(["get", "pod", "runner", "-o", "jsonpath={.metadata.uid}"]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await fetch(`${cluster.apiservers[0]!.url}/api/v1/namespaces/default/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: "runner.1" }, involvedObject: { kind: "Pod", name: "runner", namespace: "default", uid }, reason: "Scheduled", message: "Successfully assigned default/runner to kubemu", type: "Normal", source: { component: "default-scheduler" }, firstTimestamp: now, lastTimestamp: now, count: 1 }),
    });
    expect(await k.ok(["get", "events"])).toMatch(/^\d+s\s+Normal\s+Scheduled\s+pod\/runner\s+Successfully assigned default\/runner to kubemu$/m);
    expect(await k.ok(["describe", "pod", "runner"])).toMatch(/Normal\s+Scheduled\s+\d+s\s+default-scheduler\s+Successfully assigned/);
  });

  it("explain, get all, get componentstatuses", async () => {
    const ex = await k.ok(["explain", "pod.spec.containers"]);
    expect(ex).toContain("FIELD: containers <[]Container>");
    const all = await k.ok(["get", "all"]);
    expect(all).toContain("deployment.apps/web");
    expect(all).toContain("service/kubernetes");
    const cs = await k.ok(["get", "componentstatuses"]);
    expect(cs).toMatch(/^etcd-0\s+Healthy/m);
  });

  it("priority classes: the system classes, create priorityclass, api-resources, explain, Priority admission", async () => {
    const pc = await k.ok(["get", "pc"]);
    expect(pc.split("\n")[0]).toMatch(/^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY$/);
    expect(pc).toMatch(/^system-cluster-critical\s+2000000000\s+false\s+\d+s\s+PreemptLowerPriority$/m);
    expect(pc).toMatch(/^system-node-critical\s+2000001000\s+false\s+\d+s\s+PreemptLowerPriority$/m);
    expect(await k.ok(["create", "priorityclass", "high", "--value=1000", "--description=important"])).toBe("priorityclass.scheduling.k8s.io/high created\n");
    expect(await k1.ok(["get", "priorityclass", "high", "-o", "jsonpath={.value} {.preemptionPolicy} {.description}"])).toBe("1000 PreemptLowerPriority important");
    const big = await k.run(["create", "priorityclass", "huge", "--value=2000000000"]);
    expect(big.stderr).toContain('PriorityClass.scheduling.k8s.io "huge" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000');
    const del = await k.run(["delete", "pc", "system-node-critical"]);
    expect(del.stderr).toContain('priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted');
    expect(await k.ok(["api-resources", "--api-group=scheduling.k8s.io"])).toMatch(/^priorityclasses\s+pc\s+scheduling\.k8s\.io\/v1\s+false\s+PriorityClass$/m);
    expect(await k.ok(["explain", "priorityclass.value"])).toContain("FIELD: value <integer>");
    await writeFile(join(dir, "prio-pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: prio\nspec:\n  priorityClassName: high\n  containers:\n  - name: c\n    image: busybox\n");
    await k.ok(["create", "-f", join(dir, "prio-pod.yaml")]);
    expect(await k.ok(["get", "pod", "prio", "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}"])).toBe("1000 PreemptLowerPriority");
    const unknown = await k.run(["run", "noclass", "--image=busybox", "--overrides", JSON.stringify({ spec: { priorityClassName: "nope" } })]);
    expect(unknown.stderr).toContain('Error from server (Forbidden): pods "noclass" is forbidden: no PriorityClass with name nope was found');
    await k.ok(["delete", "pod", "prio", "--wait=false"]);
  });

  it("delete, delete --cascade=orphan records the orphan finalizer, dry-run deletes nothing", async () => {
    expect(await k.ok(["delete", "cm", "cfg"])).toBe('configmap "cfg" deleted\n');
    expect((await k.run(["get", "cm", "cfg"])).stderr).toContain('Error from server (NotFound): configmaps "cfg" not found');
    expect(await k.ok(["delete", "deploy", "gen", "-n", "team", "--dry-run=server"])).toContain("deleted (server dry run)");
    expect(await k.ok(["get", "deploy", "gen", "-n", "team", "-o", "name"])).toBe("deployment.apps/gen\n");
    await k.ok(["delete", "deploy", "gen", "-n", "team", "--cascade=orphan", "--wait=false"]);
    expect(await k.ok(["get", "deploy", "gen", "-n", "team", "-o", "jsonpath={.metadata.finalizers}"])).toBe('["orphan"]');
  });

  it("bad input gets a Status and the servers keep serving", async () => {
    const base = cluster.apiservers[0]!.url;
    const post = (path: string, body: string | Buffer, ct = "application/json") => fetch(`${base}${path}`, { method: "POST", headers: { "content-type": ct }, body });
    const cases: [Promise<Response>, number][] = [
      [post("/api/v1/namespaces/default/configmaps", "{bad"), 400],
      [post("/api/v1/namespaces/default/configmaps", "a: [", "application/yaml"), 400],
      [post("/api/v1/namespaces/default/configmaps", '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}'), 400],
      [post("/api/v1/namespaces/default/configmaps", "[]"), 400],
      [post("/api/v1/namespaces/default/configmaps", Buffer.alloc(4 * 1024 * 1024, 0x61)), 413],
      [post("/api/v1/namespaces/default/configmaps", "{}", "text/plain"), 415],
      [post("/api/v1/namespaces/default/configmaps", Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff, 0xff]), "application/vnd.kubernetes.protobuf"), 400],
      [fetch(`${base}/api/v1/namespaces/default/pods?labelSelector=app%20in%20(x`), 400],
      [fetch(`${base}/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3D1`), 400],
      [fetch(`${base}/api/v1/nope`), 404],
      [fetch(`${base}/apis/widgets.example.com/v1/widgets`), 404],
      [fetch(`${base}/totally/unknown`), 404],
      [fetch(`${base}/api/v1/namespaces/default/configmaps/x`, { method: "PATCH", headers: { "content-type": "application/json" }, body: "{}" }), 415],
      [fetch(`${base}/api/v1/componentstatuses/etcd-0`, { method: "DELETE" }), 405],
    ];
    for (const [p, code] of cases) {
      const r = await p;
      const body = (await r.json()) as { kind: string; code: number };
      expect({ code: r.status, kind: body.kind }).toEqual({ code, kind: "Status" });
      expect(body.code).toBe(code);
    }
    const strict = await fetch(`${base}/api/v1/namespaces/default/configmaps?fieldValidation=Strict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: "strict" }, dataa: {} }),
    });
    expect(strict.status).toBe(400);
    expect(((await strict.json()) as { message: string }).message).toContain('unknown field "dataa"');
    const viaKubectl = await k.run(["create", "-f", "-"], { input: "{not yaml: [" });
    expect(viaKubectl.code).not.toBe(0);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${cluster.apiservers[1]!.url}/readyz`)).status).toBe(200);
  });

  it("metrics count requests by verb, resource and code", async () => {
    const text = await (await fetch(`${cluster.apiservers[0]!.url}/metrics`)).text();
    expect(text).toMatch(/apiserver_request_total\{verb="LIST",group="",version="v1",resource="configmaps",subresource="",code="200"\} \d+/);
    expect(text).toContain("apiserver_request_duration_seconds_bucket");
  });
});

describe("kubectl 1.33", { timeout: 60_000 }, () => {
  it("get, apply, create configmap, delete", async () => {
    const k33 = new Kubectl(k.kubeconfig, join(dir, "cache33"), pinnedKubectl("33"));
    expect(await k33.ok(["version"])).toMatch(/Client Version: v1\.33/);
    await writeFile(join(dir, "d33.yaml"), manifest(1).replace(/web/g, "web33").replace("nodePort: 30080", "nodePort: 30081"));
    expect(await k33.ok(["apply", "-f", join(dir, "d33.yaml")])).toBe("deployment.apps/web33 created\nservice/web33 created\n");
    expect(await k33.ok(["create", "configmap", "c33", "--from-literal=a=b"])).toBe("configmap/c33 created\n");
    expect(await k33.ok(["get", "deploy", "web33"])).toMatch(/^web33\s+0\/1\s+0\s+0\s+\d+s$/m);
    expect(await k33.ok(["delete", "cm", "c33"])).toBe('configmap "c33" deleted\n');
  });
});

describe("through apiserver-lb while apiserver-0 dies", { timeout: 90_000 }, () => {
  it("every kubectl command in a loop keeps working", async () => {
    const lbUrl = await cluster.startLb("127.0.144.10");
    const viaLb = new Kubectl(await cluster.kubeconfig(lbUrl), join(dir, "cache-lb"));
    const failures: string[] = [];
    const started = Date.now();
    for (let i = 0; i < 24; i++) {
      if (i === 6) await cluster.kill("apiserver-0");
      const r = i % 2 === 0 ? await viaLb.run(["create", "configmap", `lb-${i}`, "--from-literal=i=" + i]) : await viaLb.run(["get", "cm", `lb-${i - 1}`, "-o", "name"]);
      if (r.code !== 0) failures.push(`${i}: ${r.stderr.trim()}`);
    }
    expect(failures).toEqual([]);
    expect(await viaLb.ok(["get", "cm", "-o", "name"])).toContain("configmap/lb-22");
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
