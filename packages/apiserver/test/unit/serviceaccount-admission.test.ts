/** The ServiceAccount admission plugin on the real store (upstream plugin/pkg/admission/serviceaccount's cases). */
import { describe, expect, it } from "vitest";
import { failure, newStore } from "./helpers.js";
import { mountServiceAccountToken, tokenVolumeSource } from "../../src/admission/serviceaccount.js";
import { parseArgs } from "../../src/config.js";

const TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
const container = (name: string, extra: Record<string, unknown> = {}) => ({ name, image: "busybox", ...extra });

async function setup() {
  const s = await newStore({ serviceAccountAdmission: true });
  const pods = s.def("", "pods");
  const sas = s.def("", "serviceaccounts");
  const createSa = (ns: string, name: string, extra: Record<string, unknown> = {}) => {
    const { metadata, ...rest } = extra as { metadata?: Record<string, unknown> };
    return s.store.create(sas, ns, { metadata: { name, ...metadata }, ...rest });
  };
  const createPod = (name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}, ns = "default") => s.store.create(pods, ns, { metadata: { name, ...meta }, spec }) as Promise<any>;
  return { ...s, pods, createSa, createPod };
}

describe("ServiceAccount admission", () => {
  it("defaults the account to default and mounts kube-api-access-xxxxx read-only in every container and init container", async () => {
    const { createSa, createPod } = await setup();
    await createSa("default", "default");
    const p = await createPod("p", { initContainers: [container("init")], containers: [container("a"), container("b")] });
    expect(p.spec.serviceAccountName).toBe("default");
    expect(p.spec.serviceAccount).toBe("default");
    const vols = p.spec.volumes as { name: string; projected?: unknown }[];
    expect(vols).toHaveLength(1);
    expect(vols[0]!.name).toMatch(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(vols[0]!.projected).toEqual({
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    });
    for (const c of [...p.spec.initContainers, ...p.spec.containers]) expect(c.volumeMounts).toEqual([{ name: vols[0]!.name, readOnly: true, mountPath: TOKEN_PATH }]);
  });

  it("refuses a pod whose account does not exist, in upstream's words", async () => {
    const { createPod, createSa, clock } = await setup();
    await createSa("default", "default");
    const e = await failure(createPod("p", { serviceAccountName: "robot", containers: [container("c")] }));
    expect(e.status.code).toBe(403);
    expect(e.status.reason).toBe("Forbidden");
    expect(e.status.message).toBe('pods "p" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found');
    // The default account is read up to 10 times (the controller-manager makes it just after the namespace).
    const pending = createPod("q", { containers: [container("c")] }, {}, "kube-public").then(
      () => undefined,
      (err: unknown) => err,
    );
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 5));
      clock.advance(200);
    }
    const e2 = (await pending) as { status: { message: string } };
    expect(e2.status.message).toBe('pods "q" is forbidden: error looking up service account kube-public/default: serviceaccount "default" not found');
  });

  it("finds a default account created while the pod waits", async () => {
    const { createPod, createSa, clock } = await setup();
    const pending = createPod("p", { containers: [container("c")] }, {}, "kube-public");
    await new Promise((r) => setTimeout(r, 5));
    await createSa("kube-public", "default");
    for (let i = 0; i < 3; i++) {
      clock.advance(200);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await pending).spec.serviceAccountName).toBe("default");
  });

  it("names a generated pod by its generateName in the refusal", async () => {
    const { pods, store, createSa } = await setup();
    await createSa("default", "default");
    const e = await failure(store.create(pods, "default", { metadata: { generateName: "web-" }, spec: { serviceAccountName: "nope", containers: [container("c")] } }));
    expect(e.status.message).toBe('pods is forbidden: error looking up service account default/nope: serviceaccount "nope" not found');
  });

  it("mounts nothing when automountServiceAccountToken is false on the pod or the account (the pod's wins)", async () => {
    const { createSa, createPod } = await setup();
    await createSa("default", "default");
    await createSa("default", "quiet", { automountServiceAccountToken: false });
    const off = await createPod("off", { automountServiceAccountToken: false, containers: [container("c")] });
    expect(off.spec.volumes ?? []).toEqual([]);
    expect(off.spec.containers[0].volumeMounts ?? []).toEqual([]);
    const quiet = await createPod("quiet", { serviceAccountName: "quiet", containers: [container("c")] });
    expect(quiet.spec.volumes ?? []).toEqual([]);
    const overridden = await createPod("loud", { serviceAccountName: "quiet", automountServiceAccountToken: true, containers: [container("c")] });
    expect(overridden.spec.volumes[0].name).toMatch(/^kube-api-access-/);
  });

  it("leaves a container that already mounts the token path alone", async () => {
    const { createSa, createPod } = await setup();
    await createSa("default", "default");
    const mine = { name: "mine", projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 600 } }] } };
    const p = await createPod("p", { volumes: [mine], containers: [container("own", { volumeMounts: [{ name: "mine", mountPath: TOKEN_PATH }] }), container("plain")] });
    expect(p.spec.containers[0].volumeMounts).toEqual([{ name: "mine", mountPath: TOKEN_PATH }]);
    expect(p.spec.containers[1].volumeMounts[0].mountPath).toBe(TOKEN_PATH);
    expect(p.spec.volumes.map((v: { name: string }) => v.name)).toEqual(["mine", p.spec.containers[1].volumeMounts[0].name]);
    const all = await createPod("q", { volumes: [mine], containers: [container("own", { volumeMounts: [{ name: "mine", mountPath: TOKEN_PATH }] })] });
    expect(all.spec.volumes.map((v: { name: string }) => v.name)).toEqual(["mine"]);
  });

  it("copies the account's imagePullSecrets when the pod has none", async () => {
    const { createSa, createPod } = await setup();
    await createSa("default", "puller", { imagePullSecrets: [{ name: "regcred" }] });
    const p = await createPod("p", { serviceAccountName: "puller", containers: [container("c")] });
    expect(p.spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
    const own = await createPod("q", { serviceAccountName: "puller", imagePullSecrets: [{ name: "mine" }], containers: [container("c")] });
    expect(own.spec.imagePullSecrets).toEqual([{ name: "mine" }]);
  });

  it("enforces mountable secrets when the account asks (kubernetes.io/enforce-mountable-secrets)", async () => {
    const { createSa, createPod } = await setup();
    await createSa("default", "strict", { metadata: { annotations: { "kubernetes.io/enforce-mountable-secrets": "true" } }, secrets: [{ name: "ok" }] });
    await createPod("fine", { serviceAccountName: "strict", volumes: [{ name: "s", secret: { secretName: "ok" } }], containers: [container("c")] });
    const e = await failure(createPod("bad", { serviceAccountName: "strict", volumes: [{ name: "s", secret: { secretName: "other" } }], containers: [container("c")] }));
    expect(e.status.message).toBe('pods "bad" is forbidden: volume with secret.secretName="other" is not allowed because service account strict does not reference that secret');
    const env = await failure(createPod("env", { serviceAccountName: "strict", containers: [container("c", { env: [{ name: "PW", valueFrom: { secretKeyRef: { name: "other", key: "k" } } }] })] }));
    expect(env.status.message).toBe('pods "env" is forbidden: container c with envVar PW referencing secret.secretName="other" is not allowed because service account strict does not reference that secret');
  });

  it("leaves mirror pods unmodified and keeps them away from credentials", async () => {
    const { createPod } = await setup();
    const mirror = { annotations: { "kubernetes.io/config.mirror": "abc" } };
    const p = await createPod("static-web", { containers: [container("c")] }, mirror);
    expect(p.spec.serviceAccountName).toBeUndefined();
    expect(p.spec.volumes ?? []).toEqual([]);
    expect((await failure(createPod("m1", { serviceAccountName: "default", containers: [container("c")] }, mirror))).status.message).toBe('pods "m1" is forbidden: a mirror pod may not reference service accounts');
    expect((await failure(createPod("m2", { volumes: [{ name: "s", secret: { secretName: "x" } }], containers: [container("c")] }, mirror))).status.message).toBe('pods "m2" is forbidden: a mirror pod may not reference secrets');
    const token = { name: "t", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } };
    expect((await failure(createPod("m3", { volumes: [token], containers: [container("c")] }, mirror))).status.message).toBe('pods "m3" is forbidden: a mirror pod may not use ServiceAccountToken volume projections');
  });

  it("acts on create only: updates keep the spec the create admitted", async () => {
    const { createSa, createPod, store, pods } = await setup();
    await createSa("default", "default");
    const p = await createPod("p", { containers: [container("c")] });
    const updated = (await store.update(pods, "default", "p", { ...p, metadata: { ...p.metadata, labels: { a: "b" } } }, {})) as any;
    expect(updated.spec.volumes).toEqual(p.spec.volumes);
  });

  it("is off with --disable-admission-plugins ServiceAccount: no account defaulted, nothing mounted", async () => {
    expect(parseArgs(["--storage", "memory", "--disable-admission-plugins", "ServiceAccount"]).disableAdmissionPlugins).toEqual(["ServiceAccount"]);
    expect(() => parseArgs(["--storage", "memory", "--disable-admission-plugins", "ServiceAcount"])).toThrow(/unknown admission plugin "ServiceAcount"/);
    const s = await newStore();
    const p = (await s.store.create(s.def("", "pods"), "default", { metadata: { name: "p" }, spec: { containers: [container("c")] } })) as any;
    expect(p.spec.serviceAccountName).toBeUndefined();
    expect(p.spec.volumes ?? []).toEqual([]);
    // The deprecated serviceAccount still fills serviceAccountName (the v1 conversion).
    const q = (await s.store.create(s.def("", "pods"), "default", { metadata: { name: "q" }, spec: { serviceAccount: "robot", containers: [container("c")] } })) as any;
    expect(q.spec.serviceAccountName).toBe("robot");
  });

  it("reuses an existing kube-api-access-* volume (mountServiceAccountToken)", () => {
    const spec = { volumes: [{ name: "kube-api-access-abcde", projected: tokenVolumeSource() }], containers: [{ name: "c" }] };
    mountServiceAccountToken(spec, () => "kube-api-access-new00");
    expect(spec.volumes.map((v) => v.name)).toEqual(["kube-api-access-abcde"]);
    expect((spec.containers[0] as { volumeMounts?: unknown }).volumeMounts).toEqual([{ name: "kube-api-access-abcde", readOnly: true, mountPath: TOKEN_PATH }]);
  });
});
