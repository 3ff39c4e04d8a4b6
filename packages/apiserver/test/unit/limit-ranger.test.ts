/** The LimitRanger admission plugin on the real store: defaults, min/max/ratio per Container, Pod and PVC, upstream's messages. */
import { describe, expect, it } from "vitest";
import { failure, newStore } from "./helpers.js";
import { aggregateMessage } from "../../src/admission/limit-ranger.js";

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const container = (name: string, resources: Res = {}) => ({ name, image: "luksa/kubia", resources });
const pod = (name: string, containers: unknown[], extra: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { containers, ...extra } });

/** Kubernetes in Action's limits.yaml (ch. 14.4). */
const KIA_LIMITS = {
  metadata: { name: "example" },
  spec: {
    limits: [
      { type: "Pod", min: { cpu: "50m", memory: "5Mi" }, max: { cpu: "1", memory: "1Gi" } },
      {
        type: "Container",
        defaultRequest: { cpu: "100m", memory: "10Mi" },
        default: { cpu: "200m", memory: "100Mi" },
        min: { cpu: "50m", memory: "5Mi" },
        max: { cpu: "1", memory: "1Gi" },
        maxLimitRequestRatio: { cpu: "4", memory: "10" },
      },
      { type: "PersistentVolumeClaim", min: { storage: "1Gi" }, max: { storage: "10Gi" } },
    ],
  },
};

async function setup(limits: unknown = KIA_LIMITS, ns = "default") {
  const s = await newStore();
  const pods = s.def("", "pods");
  const pvcs = s.def("", "persistentvolumeclaims");
  await s.store.create(s.def("", "limitranges"), ns, structuredClone(limits));
  const createPod = (p: unknown, namespace = "default") => s.store.create(pods, namespace, p) as Promise<any>;
  const claim = (name: string, storage: string) => ({ metadata: { name }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } } });
  return { ...s, pods, pvcs, createPod, claim };
}

describe("LimitRanger defaults", () => {
  it("fills missing requests and limits from the Container item and says so in the annotation", async () => {
    const { createPod } = await setup();
    const p = await createPod(pod("kubia-manual", [container("kubia")]));
    expect(p.spec.containers[0].resources).toEqual({ requests: { cpu: "100m", memory: "10Mi" }, limits: { cpu: "200m", memory: "100Mi" } });
    expect(p.metadata.annotations["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu, memory request for container kubia; cpu, memory limit for container kubia");
    // QoS follows the defaulted resources (recorded after admission, as PrepareForCreate does).
    expect(p.status.qosClass).toBe("Burstable");
  });

  it("keeps what the pod states, names init containers, and leaves a fully specified pod unannotated", async () => {
    const { createPod } = await setup();
    const p = await createPod(
      pod("mixed", [container("web", { requests: { cpu: "300m" }, limits: { cpu: "400m" } })], {
        initContainers: [container("init", { requests: { memory: "20Mi" } })],
      }),
    );
    expect(p.spec.containers[0].resources).toEqual({ requests: { cpu: "300m", memory: "10Mi" }, limits: { cpu: "400m", memory: "100Mi" } });
    expect(p.spec.initContainers[0].resources).toEqual({ requests: { memory: "20Mi", cpu: "100m" }, limits: { cpu: "200m", memory: "100Mi" } });
    expect(p.metadata.annotations["kubernetes.io/limit-ranger"]).toBe(
      "LimitRanger plugin set: memory request for container web; memory limit for container web; cpu request for init container init; cpu, memory limit for init container init",
    );
    const full = await createPod(pod("full", [container("c", { requests: { cpu: "100m", memory: "10Mi" }, limits: { cpu: "100m", memory: "10Mi" } })]));
    expect(full.metadata.annotations?.["kubernetes.io/limit-ranger"]).toBeUndefined();
  });

  it("applies only the pod's namespace's LimitRanges", async () => {
    const { store, def, createPod } = await setup(KIA_LIMITS, "kube-public");
    await store.create(def("", "namespaces"), undefined, { metadata: { name: "other" } });
    const p = await createPod(pod("free", [container("c")]), "other");
    expect(p.spec.containers[0].resources).toEqual({});
    expect(p.metadata.annotations).toBeUndefined();
  });

  it("a request above the defaulted limit fails validation, as the book shows", async () => {
    const { createPod } = await setup();
    const err = await failure(createPod(pod("too-big", [container("main", { requests: { cpu: "2" } })])));
    expect(err.status.code).toBe(422);
    expect(err.status.message).toBe('Pod "too-big" is invalid: spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 200m');
  });
});

describe("LimitRanger validation", () => {
  it("refuses a pod over the Pod and Container max with every violation of the LimitRange", async () => {
    const { createPod } = await setup();
    const err = await failure(createPod(pod("too-big", [container("main", { requests: { cpu: "2" }, limits: { cpu: "2" } })])));
    expect(err.status).toMatchObject({ code: 403, reason: "Forbidden", details: { name: "too-big", kind: "pods" } });
    expect(err.status.message).toBe('pods "too-big" is forbidden: [maximum cpu usage per Pod is 1, but limit is 2, maximum cpu usage per Container is 1, but limit is 2]');
  });

  it("minimum and maximum per Container in upstream's words (the brief's example)", async () => {
    const { createPod } = await setup({ metadata: { name: "mm" }, spec: { limits: [{ type: "Container", min: { cpu: "100m" }, max: { memory: "1Gi" } }] } });
    const err = await failure(createPod(pod("x", [container("c", { requests: { cpu: "50m", memory: "1Gi" }, limits: { cpu: "1", memory: "2Gi" } })])));
    expect(err.status.message).toBe('pods "x" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, maximum memory usage per Container is 1Gi, but limit is 2Gi]');
  });

  it("names what is missing when the Pod item has no defaults to fill it; a single violation is not bracketed", async () => {
    const lr = { metadata: { name: "p" }, spec: { limits: [{ type: "Pod", min: { cpu: "500m" }, max: { memory: "1Gi" } }] } };
    const { createPod } = await setup(lr);
    const err = await failure(createPod(pod("bare", [container("c")])));
    expect(err.status.message).toBe('pods "bare" is forbidden: [minimum cpu usage per Pod is 500m.  No request is specified, maximum memory usage per Pod is 1Gi.  No limit is specified]');
    const one = await failure(createPod(pod("one", [container("c", { requests: { cpu: "1" }, limits: { cpu: "1", memory: "2Gi" } })])));
    expect(one.status.message).toBe('pods "one" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 2Gi');
  });

  it("checks the limit to request ratio", async () => {
    const { createPod } = await setup();
    const err = await failure(createPod(pod("ratio", [container("c", { requests: { cpu: "50m", memory: "10Mi" }, limits: { cpu: "500m", memory: "10Mi" } })])));
    expect(err.status.message).toBe('pods "ratio" is forbidden: cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000');
  });

  it("deduplicates identical violations of several containers, and checks init containers", async () => {
    const { createPod } = await setup();
    const big = container("a", { requests: { memory: "2Gi" }, limits: { memory: "2Gi" } });
    const err = await failure(createPod(pod("dups", [big, { ...big, name: "b" }], { initContainers: [{ ...big, name: "init" }] })));
    expect(err.status.message).toBe('pods "dups" is forbidden: [maximum memory usage per Pod is 1Gi, but limit is 4Gi, maximum memory usage per Container is 1Gi, but limit is 2Gi]');
    expect(aggregateMessage(["x", "x"])).toBe("x");
  });

  it("names a generated pod by its generated name", async () => {
    const { createPod } = await setup();
    const err = await failure(createPod({ metadata: { generateName: "web-" }, spec: { containers: [container("c", { limits: { cpu: "3" } })] } }));
    expect(err.status.message).toMatch(/^pods "web-[a-z0-9]{5}" is forbidden: \[maximum cpu usage per Pod is 1, but limit is 3, /);
  });

  it("checks a claim's requested storage against the PersistentVolumeClaim item on create and on resize", async () => {
    const { store, pvcs, claim } = await setup();
    const big = await failure(store.create(pvcs, "default", claim("big", "20Gi")));
    expect(big.status.message).toBe('persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi');
    const small = await failure(store.create(pvcs, "default", claim("small", "500Mi")));
    expect(small.status.message).toBe('persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi');
    const ok = (await store.create(pvcs, "default", claim("ok", "5Gi"))) as any;
    expect(ok.spec.resources).toEqual({ requests: { storage: "5Gi" } });
    const grow = await failure(store.patch(pvcs, "default", "ok", "merge", { spec: { resources: { requests: { storage: "11Gi" } } } }));
    expect(grow.status.message).toBe('persistentvolumeclaims "ok" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 11Gi');
  });

  it("does not look at pod updates", async () => {
    const { store, pods, createPod } = await setup();
    await createPod(pod("p", [container("c")]));
    const updated = (await store.patch(pods, "default", "p", "merge", { metadata: { labels: { a: "b" } } })).object as any;
    expect(updated.metadata.labels).toEqual({ a: "b" });
  });
});
