import { describe, expect, it } from "vitest";
import { newStore, failure } from "./helpers.js";


const deployment = (name = "d", extra: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name } },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
    ...extra,
  },
});

describe("generic store semantics", () => {
  it("creates with server metadata and upstream defaults", async () => {
    const { store, def } = await newStore();
    const d = (await store.create(def("apps", "deployments"), "default", deployment(), { fieldManager: "kubectl-create" })) as any;
    expect(d.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.metadata.creationTimestamp).toBe("2026-01-01T00:00:00Z");
    expect(d.metadata.generation).toBe(1);
    expect(d.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } });
    expect(d.spec.revisionHistoryLimit).toBe(10);
    expect(d.spec.progressDeadlineSeconds).toBe(600);
    const c = d.spec.template.spec.containers[0];
    expect(c).toMatchObject({ imagePullPolicy: "Always", terminationMessagePath: "/dev/termination-log", terminationMessagePolicy: "File" });
    expect(d.spec.template.spec).toMatchObject({ restartPolicy: "Always", dnsPolicy: "ClusterFirst", terminationGracePeriodSeconds: 30 });
    expect(d.metadata.managedFields[0]).toMatchObject({ manager: "kubectl-create", operation: "Update" });
  });

  it("generates names, refuses duplicates (409 AlreadyExists) and names resources in messages", async () => {
    const { store, def } = await newStore();
    const cm = def("", "configmaps");
    const a = await store.create(cm, "default", { metadata: { generateName: "cfg-" } });
    expect(a.metadata.name).toMatch(/^cfg-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    await store.create(cm, "default", { metadata: { name: "x" } });
    const e = await failure(store.create(cm, "default", { metadata: { name: "x" } }));
    expect(e.status).toMatchObject({ code: 409, reason: "AlreadyExists", message: 'configmaps "x" already exists' });
    const nf = await failure(store.get(def("apps", "deployments"), "default", "nope"));
    expect(nf.status.message).toBe('deployments.apps "nope" not found');
  });

  it("bumps generation only on spec changes and keeps status through the main endpoint", async () => {
    const { store, def } = await newStore();
    const dd = def("apps", "deployments");
    await store.create(dd, "default", deployment());
    const s = await store.update(dd, "default", "d", { ...(await store.get(dd, "default", "d")), status: { replicas: 5 } }, { subresource: "status" });
    expect((s as any).status.replicas).toBe(5);
    expect(s.metadata.generation).toBe(1);
    const cur = (await store.get(dd, "default", "d")) as any;
    cur.metadata.labels.x = "y";
    cur.status = { replicas: 99 };
    const u = (await store.update(dd, "default", "d", cur)) as any;
    expect(u.metadata.generation).toBe(1);
    expect(u.status.replicas).toBe(5);
    const { object } = await store.patch(dd, "default", "d", "merge", { spec: { replicas: 4 } });
    expect(object.metadata.generation).toBe(2);
  });

  it("answers 409 Conflict for a stale resourceVersion", async () => {
    const { store, def } = await newStore();
    const cm = def("", "configmaps");
    const created = await store.create(cm, "default", { metadata: { name: "c" }, data: { a: "1" } });
    await store.update(cm, "default", "c", { ...created, data: { a: "2" } });
    const e = await failure(store.update(cm, "default", "c", { ...created, data: { a: "3" } }));
    expect(e.status.code).toBe(409);
    expect(e.status.message).toContain("the object has been modified");
  });

  it("validates with field paths (422)", async () => {
    const { store, def } = await newStore();
    const bad = deployment("Bad_Name");
    (bad.spec as any).selector = undefined;
    const e = await failure(store.create(def("apps", "deployments"), "default", bad));
    expect(e.status.code).toBe(422);
    expect(e.status.message).toMatch(/^Deployment.apps "Bad_Name" is invalid: /);
    const fields = e.status.details?.causes?.map((c) => c.field);
    expect(fields).toContain("metadata.name");
    expect(fields).toContain("spec.selector");
    const pe = await failure(store.create(def("", "pods"), "default", { metadata: { name: "p" }, spec: { containers: [{ name: "c" }] } }));
    expect(pe.status.details?.causes?.[0]).toMatchObject({ field: "spec.containers[0].image", reason: "FieldValueRequired" });
  });

  it("rejects changes to immutable ConfigMaps", async () => {
    const { store, def } = await newStore();
    const cm = def("", "configmaps");
    await store.create(cm, "default", { metadata: { name: "i" }, data: { a: "1" }, immutable: true });
    const e = await failure(store.patch(cm, "default", "i", "merge", { data: { a: "2" } }));
    expect(e.status.code).toBe(422);
    const ok = await store.patch(cm, "default", "i", "merge", { metadata: { labels: { l: "v" } } });
    expect(ok.object.metadata.labels).toEqual({ l: "v" });
  });

  it("enforces namespace lifecycle", async () => {
    const { store, def } = await newStore();
    const e = await failure(store.create(def("", "configmaps"), "missing", { metadata: { name: "c" } }));
    expect(e.status).toMatchObject({ code: 404, message: 'namespaces "missing" not found' });
    const ns = def("", "namespaces");
    await store.create(ns, undefined, { metadata: { name: "t" } });
    const del = await store.delete(ns, undefined, "t", {});
    expect(del.deleted).toBe(false);
    expect((del.object.status as any).phase).toBe("Terminating");
    const e2 = await failure(store.create(def("", "configmaps"), "t", { metadata: { name: "c" } }));
    expect(e2.status.code).toBe(403);
    const e3 = await failure(store.delete(ns, undefined, "kube-system", {}));
    expect(e3.status.code).toBe(403);
  });

  it("allocates ClusterIPs and NodePorts and refuses collisions", async () => {
    const { store, def } = await newStore();
    const svc = def("", "services");
    const a = (await store.create(svc, "default", { metadata: { name: "a" }, spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] } })) as any;
    expect(a.spec.clusterIP).toMatch(/^127\.96\.\d+\.\d+$/);
    expect(a.spec.clusterIP).not.toBe("127.96.0.1");
    expect(a.spec.ports[0]).toMatchObject({ nodePort: 30080, targetPort: 80, protocol: "TCP" });
    expect(a.spec.sessionAffinity).toBe("None");
    const e = await failure(store.create(svc, "default", { metadata: { name: "b" }, spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] } }));
    expect(e.status.code).toBe(422);
    expect(e.status.message).toContain("provided port is already allocated");
    const e2 = await failure(store.create(svc, "default", { metadata: { name: "c" }, spec: { clusterIP: a.spec.clusterIP, ports: [{ port: 80 }] } }));
    expect(e2.status.message).toContain("already allocated");
    await store.delete(svc, "default", "a", {});
    const again = (await store.create(svc, "default", { metadata: { name: "d" }, spec: { type: "NodePort", clusterIP: a.spec.clusterIP, ports: [{ port: 80, nodePort: 30080 }] } })) as any;
    expect(again.spec.clusterIP).toBe(a.spec.clusterIP);
  });

  it("deletes pods gracefully once scheduled, at once otherwise; the kubelet's grace 0 finishes", async () => {
    const { store, def } = await newStore();
    const pods = def("", "pods");
    const spec = { containers: [{ name: "c", image: "busybox" }] };
    await store.create(pods, "default", { metadata: { name: "unscheduled" }, spec });
    expect((await store.delete(pods, "default", "unscheduled", {})).deleted).toBe(true);
    const p = (await store.create(pods, "default", { metadata: { name: "p" }, spec })) as any;
    expect(p.spec.tolerations).toEqual([
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
    ]);
    // ServiceAccount admission is off in newStore(): no account is defaulted (serviceaccount-admission.test.ts).
    expect(p.spec.serviceAccountName).toBeUndefined();
    await store.bind(pods, "default", "p", { target: { kind: "Node", name: "n1" } }, {});
    const bound = await failure(store.bind(pods, "default", "p", { target: { kind: "Node", name: "n2" } }, {}));
    expect(bound.status.code).toBe(409);
    const marked = await store.delete(pods, "default", "p", {});
    expect(marked.deleted).toBe(false);
    expect(marked.object.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(marked.object.metadata.deletionTimestamp).toBe("2026-01-01T00:00:30Z");
    const gone = await store.delete(pods, "default", "p", { gracePeriodSeconds: 0 });
    expect(gone.deleted).toBe(true);
  });

  it("records propagation policies as finalizers and deletes when the last finalizer goes", async () => {
    const { store, def } = await newStore();
    const dd = def("apps", "deployments");
    await store.create(dd, "default", deployment());
    const r = await store.delete(dd, "default", "d", { propagationPolicy: "Orphan" });
    expect(r.deleted).toBe(false);
    expect(r.object.metadata.finalizers).toEqual(["orphan"]);
    expect(r.object.metadata.deletionTimestamp).toBeDefined();
    await store.patch(dd, "default", "d", "merge", { metadata: { finalizers: null } });
    const e = await failure(store.get(dd, "default", "d"));
    expect(e.status.code).toBe(404);
  });

  it("lists with label and field selectors, and pages with limit/continue", async () => {
    const { store, def } = await newStore();
    const cm = def("", "configmaps");
    for (let i = 0; i < 5; i++) await store.create(cm, "default", { metadata: { name: `c${i}`, labels: { n: String(i % 2) } } });
    expect((await store.list(cm, "default", { labelSelector: "n=1" })).items.map((i) => i.metadata.name)).toEqual(["c1", "c3"]);
    expect((await store.list(cm, "default", { fieldSelector: "metadata.name=c4" })).items).toHaveLength(1);
    const p1 = await store.list(cm, "default", { limit: 2 });
    expect(p1.items).toHaveLength(2);
    expect(p1.continue).toBeTruthy();
    const p2 = await store.list(cm, "default", { limit: 10, continue: p1.continue! });
    expect(p2.items.map((i) => i.metadata.name)).toEqual(["c2", "c3", "c4"]);
    const bad = await failure(store.list(def("", "pods"), "default", { fieldSelector: "spec.bogus=1" }));
    expect(bad.status.code).toBe(400);
  });

  it("server-side apply creates, updates, and refuses a conflicting manager", async () => {
    const { store, def } = await newStore();
    const dd = def("apps", "deployments");
    const first = await store.patch(dd, "default", "d", "apply", deployment("d", { replicas: 2 }), { fieldManager: "kubectl", force: false });
    expect(first.created).toBe(true);
    await store.patch(dd, "default", "d", "merge", { spec: { replicas: 5 } }, { fieldManager: "kubectl-scale" });
    const e = await failure(store.patch(dd, "default", "d", "apply", deployment("d", { replicas: 2 }), { fieldManager: "kubectl", force: false }));
    expect(e.status.code).toBe(409);
    const forced = await store.patch(dd, "default", "d", "apply", deployment("d", { replicas: 2 }), { fieldManager: "kubectl", force: true });
    expect((forced.object.spec as any).replicas).toBe(2);
    expect(forced.created).toBe(false);
  });

  it("dry-run writes nothing", async () => {
    const { store, def } = await newStore();
    const cm = def("", "configmaps");
    const obj = await store.create(cm, "default", { metadata: { name: "dry" } }, { dryRun: true });
    expect(obj.metadata.uid).toBeDefined();
    expect((await failure(store.get(cm, "default", "dry"))).status.code).toBe(404);
  });

  it("refuses bodies of the wrong kind or namespace", async () => {
    const { store, def } = await newStore();
    const e = await failure(store.create(def("", "configmaps"), "default", { apiVersion: "v1", kind: "Secret", metadata: { name: "x" } }));
    expect(e.status.code).toBe(400);
    const e2 = await failure(store.create(def("", "configmaps"), "default", { metadata: { name: "x", namespace: "other" } }));
    expect(e2.status.code).toBe(400);
    const e3 = await failure(store.create(def("", "configmaps"), "default", "not an object"));
    expect(e3.status.code).toBe(400);
  });
});

describe("defaults on create", () => {
  it("folds Secret stringData into base64 data and resets status", async () => {
    const { store, def } = await newStore();
    const s = (await store.create(def("", "secrets"), "default", { metadata: { name: "s" }, stringData: { pw: "hunter2" }, data: { a: "YQ==" } })) as any;
    expect(s.data).toEqual({ a: "YQ==", pw: Buffer.from("hunter2").toString("base64") });
    expect(s.stringData).toBeUndefined();
    expect(s.type).toBe("Opaque");
    const d = (await store.create(def("apps", "deployments"), "default", { ...deployment("st"), status: { replicas: 9 } })) as any;
    expect(d.status).toEqual({});
    const svc = (await store.create(def("", "services"), "default", { metadata: { name: "h" }, spec: { clusterIP: "None", selector: { a: "b" } } })) as any;
    expect(svc.spec.clusterIPs).toEqual(["None"]);
    expect(svc.status).toEqual({ loadBalancer: {} });
  });
});

describe("namespace termination", () => {
  it("stays Terminating until spec.finalizers is emptied through /finalize, then goes", async () => {
    const { store, def } = await newStore();
    const ns = def("", "namespaces");
    await store.create(ns, undefined, { metadata: { name: "gone" } });
    await store.delete(ns, undefined, "gone", {});
    const cur = await store.get(ns, undefined, "gone");
    await store.update(ns, undefined, "gone", { ...cur, status: { phase: "Terminating", conditions: [] } }, { subresource: "status" });
    expect((await store.get(ns, undefined, "gone")).metadata.deletionTimestamp).toBeDefined();
    await store.update(ns, undefined, "gone", { ...(await store.get(ns, undefined, "gone")), spec: { finalizers: [] } }, { subresource: "finalize" });
    await expect(store.get(ns, undefined, "gone")).rejects.toMatchObject({ status: { code: 404 } });
  });
});

describe("strategic merge patch with the kind's schema", () => {
  it("merges Service ports by port and replaces atomic lists", async () => {
    const { store, def } = await newStore();
    const svc = def("", "services");
    await store.create(svc, "default", { metadata: { name: "s" }, spec: { ports: [{ name: "http", port: 80 }, { name: "https", port: 443 }] } });
    const { object } = await store.patch(svc, "default", "s", "strategic", { spec: { ports: [{ port: 443, targetPort: 8443 }] } });
    expect((object.spec as any).ports.map((p: any) => `${p.port}->${p.targetPort}`)).toEqual(["80->80", "443->8443"]);
    const dd = def("apps", "deployments");
    await store.create(dd, "default", deployment("t", { template: { metadata: { labels: { app: "t" } }, spec: { containers: [{ name: "c", image: "i" }], tolerations: [{ key: "a", operator: "Exists" }] } } }));
    const p = await store.patch(dd, "default", "t", "strategic", { spec: { template: { spec: { tolerations: [{ key: "b", operator: "Exists" }] } } } });
    expect((p.object.spec as any).template.spec.tolerations).toEqual([{ key: "b", operator: "Exists" }]);
  });
});

describe("service updates", () => {
  it("keep ClusterIP and node ports a replacement body leaves out, and free ports when the type drops them", async () => {
    const { store, def } = await newStore();
    const svc = def("", "services");
    const a = (await store.create(svc, "default", { metadata: { name: "np" }, spec: { type: "NodePort", ports: [{ port: 80 }] } })) as any;
    const np = a.spec.ports[0].nodePort;
    const r = (await store.update(svc, "default", "np", { metadata: { name: "np" }, spec: { type: "NodePort", ports: [{ port: 80 }] } })) as any;
    expect(r.spec.clusterIP).toBe(a.spec.clusterIP);
    expect(r.spec.ports[0].nodePort).toBe(np);
    const c = (await store.update(svc, "default", "np", { metadata: { name: "np" }, spec: { type: "ClusterIP", ports: [{ port: 80 }] } })) as any;
    expect(c.spec.ports[0].nodePort).toBeUndefined();
    const b = (await store.create(svc, "default", { metadata: { name: "np2" }, spec: { type: "NodePort", ports: [{ port: 80, nodePort: np }] } })) as any;
    expect(b.spec.ports[0].nodePort).toBe(np);
  });

  it("a patch to type ClusterIP drops the node ports the service had (upstream's dropTypeDependentFields); a new one is still refused", async () => {
    const { store, def } = await newStore();
    const svc = def("", "services");
    const a = (await store.create(svc, "default", { metadata: { name: "np" }, spec: { type: "NodePort", ports: [{ port: 80 }] } })) as any;
    const np = a.spec.ports[0].nodePort;
    const c = (await store.patch(svc, "default", "np", "merge", { spec: { type: "ClusterIP" } })).object as any;
    expect(c.spec.type).toBe("ClusterIP");
    expect(c.spec.ports[0].nodePort).toBeUndefined();
    const b = (await store.create(svc, "default", { metadata: { name: "np2" }, spec: { type: "NodePort", ports: [{ port: 80, nodePort: np }] } })) as any;
    expect(b.spec.ports[0].nodePort).toBe(np);
    const e = await failure(store.patch(svc, "default", "np2", "merge", { spec: { type: "ClusterIP", ports: [{ port: 80, nodePort: np + 1 }] } }));
    expect(e.status.reason).toBe("Invalid");
  });
});

describe("decoding", () => {
  it("rejects bodies whose field types do not fit the kind (400), accepting numeric quantities and int-or-string", async () => {
    const { store, def } = await newStore();
    const pods = def("", "pods");
    const e = await failure(store.create(pods, "default", { metadata: { name: "p" }, spec: "x" }));
    expect(e.status.code).toBe(400);
    expect(e.status.message).toBe('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec');
    const f = await failure(store.create(def("", "configmaps"), "default", { metadata: { name: "c", finalizers: "x" } }));
    // Go's encoding/json words: innermost struct, JSON path without indexes, Go type.
    expect(f.status.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.finalizers of type []string');
    const g = await failure(store.create(pods, "default", { metadata: { name: "p" }, spec: { containers: ["nginx"] } }));
    expect(g.status.message).toBe('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container');
    const h = await failure(store.create(pods, "default", { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i", ports: [{ containerPort: "80" }] }] } }));
    expect(h.status.message).toContain("json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32");
    const n = await failure(store.create(def("", "configmaps"), "default", { metadata: { name: 5 } }));
    expect(n.status.message).toContain("json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string");
    const ok = (await store.create(pods, "default", {
      metadata: { name: "q" },
      spec: { containers: [{ name: "c", image: "i", resources: { limits: { cpu: 1, memory: "64Mi" } }, livenessProbe: { httpGet: { port: "http" } } }] },
    })) as any;
    expect(ok.spec.containers[0].resources.limits.cpu).toBe("1"); // stored in canonical form, as upstream
  });
});

describe("generateName and dry-run allocation", () => {
  it("retries a generated name that collides", async () => {
    const first = await newStore();
    const cm = first.def("", "configmaps");
    const name = (await first.store.create(cm, "default", { metadata: { generateName: "g-" } })).metadata.name!;
    const second = await newStore(); // same seed: the same first suffix
    await second.store.create(cm, "default", { metadata: { name } });
    const again = await second.store.create(cm, "default", { metadata: { generateName: "g-" } });
    expect(again.metadata.name).toMatch(/^g-/);
    expect(again.metadata.name).not.toBe(name);
  });

  it("a dry-run Service shows a real-looking ClusterIP and keeps nothing", async () => {
    const { store, def } = await newStore();
    const svc = def("", "services");
    const dry = (await store.create(svc, "default", { metadata: { name: "d" }, spec: { clusterIP: "127.96.5.5", ports: [{ port: 80 }] } }, { dryRun: true })) as any;
    expect(dry.spec.clusterIP).toBe("127.96.5.5");
    const real = (await store.create(svc, "default", { metadata: { name: "d" }, spec: { clusterIP: "127.96.5.5", ports: [{ port: 80 }] } })) as any;
    expect(real.spec.clusterIP).toBe("127.96.5.5");
  });
});

describe("pod updates", () => {
  it("allow image changes and label edits, forbid other spec changes and toleration removal", async () => {
    const { store, def } = await newStore();
    const pods = def("", "pods");
    await store.create(pods, "default", { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i:1", env: [{ name: "A", value: "1" }] }] } });
    const img = await store.patch(pods, "default", "p", "strategic", { spec: { containers: [{ name: "c", image: "i:2" }] }, metadata: { labels: { x: "y" } } });
    expect((img.object.spec as any).containers[0].image).toBe("i:2");
    const env = await failure(store.patch(pods, "default", "p", "strategic", { spec: { containers: [{ name: "c", env: [{ name: "B", value: "2" }] }] } }));
    expect(env.status.code).toBe(422);
    expect(env.status.message).toContain("pod updates may not change fields other than");
    const tol = await failure(store.patch(pods, "default", "p", "merge", { spec: { tolerations: [] } }));
    expect(tol.status.details?.causes?.[0]?.field).toBe("spec.tolerations");
  });
});

describe("networking and volume validation", () => {
  it("requires Ingress pathType and backends, and freezes PVC specs but for requests and binding", async () => {
    const { store, def } = await newStore();
    const ing = def("networking.k8s.io", "ingresses");
    const e = await failure(store.create(ing, "default", { metadata: { name: "i" }, spec: { rules: [{ host: "a.example.com", http: { paths: [{ path: "/", backend: { service: { name: "s", port: { number: 80 } } } }] } }] } }));
    expect(e.status.details?.causes?.map((c) => c.field)).toEqual(["spec.rules[0].http.paths[0].pathType"]);
    await store.create(ing, "default", { metadata: { name: "i" }, spec: { ingressClassName: "nginx", rules: [{ host: "a.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 80 } } } }] } }] } });
    const pvc = def("", "persistentvolumeclaims");
    await store.create(pvc, "default", { metadata: { name: "c" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    await store.patch(pvc, "default", "c", "merge", { spec: { volumeName: "pv1", resources: { requests: { storage: "2Gi" } } } });
    const frozen = await failure(store.patch(pvc, "default", "c", "merge", { spec: { accessModes: ["ReadWriteMany"] } }));
    expect(frozen.status.code).toBe(422);
    const rebind = await failure(store.patch(pvc, "default", "c", "merge", { spec: { volumeName: "pv2" } }));
    expect(rebind.status.details?.causes?.[0]?.field).toBe("spec.volumeName");
  });
});
