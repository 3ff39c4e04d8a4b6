import { gunzipSync } from "node:zlib";
import protobuf from "protobufjs";
import descriptorExt from "protobufjs/ext/descriptor/index.js";
import { describe, expect, it } from "vitest";
import { StatusError } from "@kubemu/common";
import { decodeProtobufBody, isProtobufContentType } from "../../src/protobuf/index.js";
import { descriptorSetGzipBase64 } from "../../src/protobuf/generated/descriptors.js";

/** The body kubectl 1.32 sent for `kubectl create configmap c --from-literal=a=b` (KUBECTL_WIRE.md §1). */
const OBSERVED_CONFIGMAP =
  "6b38 7300 0a0f 0a02 7631 1209 436f 6e66 6967 4d61 7012 1b0a 110a 0163 1200 1a00 2200 2a00 3200 3800 4200 1206 0a01 6112 0162 1a00 2200";

// Test-side encoder: the same descriptors, driven by protobufjs's own encoder.
const root: protobuf.Root = (protobuf.Root as any).fromDescriptor((descriptorExt as any).FileDescriptorSet.decode(gunzipSync(Buffer.from(descriptorSetGzipBase64, "base64"))));
const T = (name: string): protobuf.Type => root.lookupType(name);
const entries = (o: Record<string, unknown>): { key: string; value: unknown }[] => Object.entries(o).map(([key, value]) => ({ key, value }));

function envelope(apiVersion: string, kind: string, typeName: string, obj: Record<string, unknown>): Uint8Array {
  const raw = T(typeName).encode(T(typeName).fromObject(obj)).finish();
  const unknown = T("k8s.io.apimachinery.pkg.runtime.Unknown").encode({ typeMeta: { apiVersion, kind }, raw }).finish();
  return Buffer.concat([Buffer.from("k8s\0", "latin1"), unknown]);
}

const expectStatus = (fn: () => unknown, code: number, message: RegExp): void => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    expect((e as StatusError).code).toBe(code);
    expect((e as StatusError).message).toMatch(message);
    return;
  }
  throw new Error("expected a StatusError");
};

describe("isProtobufContentType", () => {
  it("matches the Kubernetes protobuf media type only", () => {
    expect(isProtobufContentType("application/vnd.kubernetes.protobuf")).toBe(true);
    expect(isProtobufContentType("Application/VND.Kubernetes.Protobuf; charset=x")).toBe(true);
    expect(isProtobufContentType("application/vnd.kubernetes.protobuf;stream=watch")).toBe(true);
    expect(isProtobufContentType("application/json")).toBe(false);
    expect(isProtobufContentType(undefined)).toBe(false);
    expect(isProtobufContentType("")).toBe(false);
  });
});

describe("decodeProtobufBody", () => {
  it("decodes the observed kubectl configmap body", () => {
    expect(decodeProtobufBody(Buffer.from(OBSERVED_CONFIGMAP.replace(/\s/g, ""), "hex"))).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } });
  });

  it("decodes a Pod with times, quantities, int-or-string, maps and pointer zeros", () => {
    const body = envelope("v1", "Pod", "k8s.io.api.core.v1.Pod", {
      metadata: { name: "p", namespace: "ns", labels: entries({ app: "web", empty: "" }), creationTimestamp: { seconds: 1_700_000_000 }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true }] },
      spec: {
        terminationGracePeriodSeconds: 0, // *int64: an explicit zero survives
        automountServiceAccountToken: false, // *bool: an explicit false survives
        hostNetwork: false, // bool value field: dropped like omitempty
        volumes: [{ name: "v", volumeSource: { emptyDir: {} } }],
        containers: [
          {
            name: "c",
            image: "nginx",
            ports: [{ containerPort: 80, protocol: "TCP", hostPort: 0 }],
            resources: { limits: entries({ cpu: { string: "500m" }, memory: { string: "1Gi" } }) },
            readinessProbe: { handler: { httpGet: { path: "/", port: { type: 1, strVal: "http" } } }, periodSeconds: 5 },
            livenessProbe: { handler: { tcpSocket: { port: { type: 0, intVal: 8080 } } } },
            env: [{ name: "A", value: "" }],
          },
        ],
      },
    });
    expect(decodeProtobufBody(body)).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "p",
        namespace: "ns",
        labels: { app: "web", empty: "" },
        creationTimestamp: "2023-11-14T22:13:20Z",
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true }],
      },
      spec: {
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        volumes: [{ name: "v", emptyDir: {} }],
        containers: [
          {
            name: "c",
            image: "nginx",
            ports: [{ containerPort: 80, protocol: "TCP" }],
            resources: { limits: { cpu: "500m", memory: "1Gi" } },
            readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 5 },
            livenessProbe: { tcpSocket: { port: 8080 } },
            env: [{ name: "A" }],
          },
        ],
      },
    });
  });

  it("keeps an IntOrString of 0 (kubectl create pdb --max-unavailable=0)", () => {
    const body = envelope("policy/v1", "PodDisruptionBudget", "k8s.io.api.policy.v1.PodDisruptionBudget", { metadata: { name: "web-pdb" }, spec: { selector: { matchLabels: entries({ app: "web" }) }, maxUnavailable: { type: 0, intVal: 0 } } });
    expect((decodeProtobufBody(body) as unknown as { spec: unknown }).spec).toEqual({ selector: { matchLabels: { app: "web" } }, maxUnavailable: 0 });
  });

  it("names fields as their JSON does where the proto name differs (a TokenRequest's boundObjectRef.uID is uid)", () => {
    const tr = envelope("authentication.k8s.io/v1", "TokenRequest", "k8s.io.api.authentication.v1.TokenRequest", { metadata: { name: "default" }, spec: { expirationSeconds: 3600, boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uID: "u-1" } } });
    expect((decodeProtobufBody(tr) as unknown as { spec: unknown }).spec).toEqual({ expirationSeconds: 3600, boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid: "u-1" } });
  });

  it("decodes Secret bytes as base64 and a ControllerRevision's raw JSON", () => {
    const secret = envelope("v1", "Secret", "k8s.io.api.core.v1.Secret", { metadata: { name: "s" }, type: "Opaque", data: entries({ k: Buffer.from([0, 1, 2, 255]) }) });
    expect(decodeProtobufBody(secret)).toEqual({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, type: "Opaque", data: { k: "AAEC/w==" } });
    const rev = envelope("apps/v1", "ControllerRevision", "k8s.io.api.apps.v1.ControllerRevision", { metadata: { name: "r" }, revision: 3, data: { raw: Buffer.from('{"spec":{"x":1}}') } });
    expect(decodeProtobufBody(rev)).toEqual({ apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name: "r" }, revision: 3, data: { spec: { x: 1 } } });
  });

  it("decodes kinds of every served group (Job, Ingress, Lease, Role)", () => {
    const job = envelope("batch/v1", "Job", "k8s.io.api.batch.v1.Job", { metadata: { name: "j" }, spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "true"] }] } } } });
    expect(decodeProtobufBody(job)).toMatchObject({ kind: "Job", spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ command: ["sh", "-c", "true"] }] } } } });
    const ing = envelope("networking.k8s.io/v1", "Ingress", "k8s.io.api.networking.v1.Ingress", { metadata: { name: "i" }, spec: { rules: [{ host: "a.test", ingressRuleValue: { http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } } }] } }); // IngressRuleValue is inlined in JSON
    expect(decodeProtobufBody(ing)).toMatchObject({ apiVersion: "networking.k8s.io/v1", spec: { rules: [{ host: "a.test", http: { paths: [{ backend: { service: { port: { number: 80 } } } }] } }] } });
    const lease = envelope("coordination.k8s.io/v1", "Lease", "k8s.io.api.coordination.v1.Lease", { metadata: { name: "l" }, spec: { holderIdentity: "me", leaseDurationSeconds: 15, renewTime: { seconds: 1_700_000_000, nanos: 123_456_000 } } });
    expect(decodeProtobufBody(lease)).toMatchObject({ spec: { holderIdentity: "me", leaseDurationSeconds: 15, renewTime: "2023-11-14T22:13:20.123456Z" } });
    const role = envelope("rbac.authorization.k8s.io/v1", "Role", "k8s.io.api.rbac.v1.Role", { metadata: { name: "r" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] });
    expect(decodeProtobufBody(role)).toMatchObject({ rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] });
  });

  it("rejects bad input with a Status, never a crash", () => {
    expectStatus(() => decodeProtobufBody(Buffer.from('{"kind":"Pod"}')), 400, /k8s\\x00/);
    expectStatus(() => decodeProtobufBody(new Uint8Array()), 400, /envelope/);
    expectStatus(() => decodeProtobufBody(Buffer.concat([Buffer.from("k8s\0", "latin1"), Buffer.from([0x0a, 0xff, 0xff])])), 400, /malformed/);
    const noKind = Buffer.concat([Buffer.from("k8s\0", "latin1"), T("k8s.io.apimachinery.pkg.runtime.Unknown").encode({ raw: Buffer.from([]) }).finish()]);
    expectStatus(() => decodeProtobufBody(noKind), 400, /no apiVersion or kind/);
    const widget = Buffer.concat([Buffer.from("k8s\0", "latin1"), T("k8s.io.apimachinery.pkg.runtime.Unknown").encode({ typeMeta: { apiVersion: "example.com/v1", kind: "Widget" }, raw: Buffer.from([]) }).finish()]);
    expectStatus(() => decodeProtobufBody(widget), 415, /no protobuf type for Widget in example.com\/v1/);
    const gz = Buffer.concat([Buffer.from("k8s\0", "latin1"), T("k8s.io.apimachinery.pkg.runtime.Unknown").encode({ typeMeta: { apiVersion: "v1", kind: "Pod" }, raw: Buffer.from([1]), contentEncoding: "gzip" }).finish()]);
    expectStatus(() => decodeProtobufBody(gz), 415, /content encoding "gzip"/);
    const badPod = Buffer.concat([Buffer.from("k8s\0", "latin1"), T("k8s.io.apimachinery.pkg.runtime.Unknown").encode({ typeMeta: { apiVersion: "v1", kind: "Pod" }, raw: Buffer.from([0x0a, 0x05, 0x01]) }).finish()]);
    expectStatus(() => decodeProtobufBody(badPod), 400, /malformed protobuf Pod/);
  });

  it("survives random bytes after the prefix", () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 300; i++) {
      const junk = Buffer.from(Array.from({ length: next() % 64 }, () => next() & 0xff));
      try {
        decodeProtobufBody(Buffer.concat([Buffer.from("k8s\0", "latin1"), junk]));
      } catch (e) {
        expect(e).toBeInstanceOf(StatusError);
      }
    }
  });
});
