import { describe, expect, it } from "vitest";
import {
  defaultResources,
  openApiV2Document,
  openApiV3Document,
  openApiV3Index,
  patchMergeKeys,
  resolveSchema,
  schemaFor,
  unknownFields,
  type Schema,
} from "../../src/openapi/index.js";

const parse = (b: Buffer): any => JSON.parse(b.toString("utf8"));

describe("schema lookups", () => {
  it("finds every served kind with its GVK and real descriptions", () => {
    for (const r of defaultResources) {
      const s = schemaFor(r.group, r.version, r.kind);
      expect(s, `${r.group}/${r.version} ${r.kind}`).toBeDefined();
      expect(s?.["x-kubernetes-group-version-kind"]).toContainEqual({ group: r.group, version: r.version, kind: r.kind });
      expect(s?.properties?.metadata, r.kind).toBeDefined();
    }
    expect(schemaFor("apps", "v1", "NoSuchKind")).toBeUndefined();
  });

  it("documents pod.spec.containers as upstream does", () => {
    const podSpec = resolveSchema(schemaFor("", "v1", "Pod")?.properties?.spec as Schema);
    const containers = podSpec.properties?.containers as Schema;
    expect(containers.description).toMatch(/^List of containers belonging to the pod\./);
    expect(containers.type).toBe("array");
    expect(containers.items?.$ref).toBe("#/definitions/io.k8s.api.core.v1.Container");
    expect(podSpec.required).toContain("containers");
    const container = resolveSchema(containers.items as Schema);
    expect(container.properties?.image?.description).toMatch(/Container image name/);
    expect(container.properties?.imagePullPolicy).toMatchObject({ type: "string", description: expect.stringMatching(/One of Always, Never, IfNotPresent/) });
  });

  it("carries integer formats from the protobuf types and int-or-string", () => {
    const port = resolveSchema({ $ref: "#/definitions/io.k8s.api.core.v1.ContainerPort" });
    expect(port.properties?.containerPort).toMatchObject({ type: "integer", format: "int32" });
    const meta = resolveSchema({ $ref: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" });
    expect(meta.properties?.generation).toMatchObject({ type: "integer", format: "int64" });
    expect(resolveSchema(meta.properties?.creationTimestamp as Schema)).toMatchObject({ type: "string", format: "date-time" });
    const svcPort = resolveSchema({ $ref: "#/definitions/io.k8s.api.core.v1.ServicePort" });
    expect(resolveSchema(svcPort.properties?.targetPort as Schema)).toMatchObject({ type: "string", format: "int-or-string" });
  });
});

describe("patchMergeKeys", () => {
  it("gives upstream's merge keys for pod templates", () => {
    const keys = patchMergeKeys("apps", "v1", "Deployment");
    const t = "spec.template.spec";
    expect(keys.get(`${t}.containers`)).toEqual({ strategy: "merge", mergeKey: "name" });
    expect(keys.get(`${t}.initContainers`)).toEqual({ strategy: "merge", mergeKey: "name" });
    expect(keys.get(`${t}.containers.ports`)).toEqual({ strategy: "merge", mergeKey: "containerPort" });
    expect(keys.get(`${t}.containers.env`)).toEqual({ strategy: "merge", mergeKey: "name" });
    expect(keys.get(`${t}.containers.volumeMounts`)).toEqual({ strategy: "merge", mergeKey: "mountPath" });
    expect(keys.get(`${t}.volumes`)).toEqual({ strategy: "merge,retainKeys", mergeKey: "name" });
    expect(keys.get(`${t}.imagePullSecrets`)).toEqual({ strategy: "merge", mergeKey: "name" });
    expect(keys.get("spec.strategy")).toEqual({ strategy: "retainKeys" });
    expect(keys.get("status.conditions")).toEqual({ strategy: "merge", mergeKey: "type" });
    expect(keys.get("metadata.finalizers")).toEqual({ strategy: "merge" });
    expect(keys.get("metadata.ownerReferences")).toEqual({ strategy: "merge", mergeKey: "uid" });
    // Upstream tolerations and args are atomic lists: no entry.
    expect(keys.has(`${t}.tolerations`)).toBe(false);
    expect(keys.has(`${t}.containers.args`)).toBe(false);
  });

  it("knows Service ports merge by port and Pod status conditions by type", () => {
    expect(patchMergeKeys("", "v1", "Service").get("spec.ports")).toEqual({ strategy: "merge", mergeKey: "port" });
    expect(patchMergeKeys("", "v1", "Pod").get("status.conditions")).toEqual({ strategy: "merge", mergeKey: "type" });
    expect(patchMergeKeys("", "v1", "Pod").get("spec.containers")).toEqual({ strategy: "merge", mergeKey: "name" });
    expect(patchMergeKeys("x", "v1", "Nope").size).toBe(0);
  });
});

describe("unknownFields", () => {
  const pod = { group: "", version: "v1", kind: "Pod" };

  it("reports unknown fields with upstream's paths", () => {
    const obj = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labelz: { a: "b" }, labels: { any: "thing" } },
      spec: { containers: [{ name: "c", image: "i" }, { name: "d", imagee: "i", ports: [{ containerPort: 80, portt: 1 }] }], bogus: true },
    };
    expect(unknownFields(pod, obj).sort()).toEqual(["metadata.labelz", "spec.bogus", "spec.containers[1].imagee", "spec.containers[1].ports[0].portt"].sort());
  });

  it("accepts a valid deployment, free-form fields and unknown kinds", () => {
    const d = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" }, managedFields: [{ manager: "m", fieldsV1: { "f:spec": {} } }] },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "d" } },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 1 } },
        template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "nginx", resources: { limits: { cpu: "1" } }, env: [{ name: "A", value: "b" }] }] } },
      },
    };
    expect(unknownFields({ group: "apps", version: "v1", kind: "Deployment" }, d)).toEqual([]);
    expect(unknownFields({ group: "apps", version: "v1", kind: "ControllerRevision" }, { metadata: {}, data: { anything: [1, { x: 2 }] }, revision: 1 })).toEqual([]);
    expect(unknownFields({ group: "x", version: "v1", kind: "Widget" }, { foo: 1 })).toEqual([]);
  });

  it("knows fields newer than the description source (1.31–1.32, from kubectl 1.32's descriptors)", () => {
    const pod = { metadata: { name: "p" }, spec: { resources: { limits: { cpu: "1" } }, securityContext: { supplementalGroupsPolicy: "Strict" }, containers: [{ name: "c" }] } };
    expect(unknownFields({ group: "", version: "v1", kind: "Pod" }, pod)).toEqual([]);
    const lease = { metadata: { name: "l" }, spec: { strategy: "OldestEmulationVersion", preferredHolder: "x" } };
    expect(unknownFields({ group: "coordination.k8s.io", version: "v1", kind: "Lease" }, lease)).toEqual([]);
    const role = { metadata: { name: "r" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"], bogus: 1 }] };
    expect(unknownFields({ group: "rbac.authorization.k8s.io", version: "v1", kind: "Role" }, role)).toEqual(["rules[0].bogus"]);
  });
});

describe("documents", () => {
  it("indexes a v3 document per served group version, addressed by content hash", () => {
    const index = parse(openApiV3Index().json);
    expect(Object.keys(index.paths)).toEqual(
      expect.arrayContaining(["api/v1", "apis/apps/v1", "apis/batch/v1", "apis/networking.k8s.io/v1", "apis/discovery.k8s.io/v1", "apis/coordination.k8s.io/v1", "apis/storage.k8s.io/v1", "apis/events.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1"]),
    );
    const url: string = index.paths["apis/apps/v1"].serverRelativeURL;
    const doc = openApiV3Document("apps/v1");
    expect(url).toBe(`/openapi/v3/apis/apps/v1?hash=${doc?.hash}`);
    expect(doc?.etag).toBe(`"${doc?.hash}"`);
    expect(openApiV3Document("apis/apps/v1")).toBe(doc);
    expect(openApiV3Document("nope/v9")).toBeUndefined();
  });

  it("v3 apps/v1 has schemas with GVKs, allOf refs and PATCH operations that accept fieldValidation", () => {
    const doc = parse(openApiV3Document("apps/v1")!.json);
    expect(doc.openapi).toBe("3.0.0");
    const dep = doc.components.schemas["io.k8s.api.apps.v1.Deployment"];
    expect(dep["x-kubernetes-group-version-kind"]).toEqual([{ group: "apps", kind: "Deployment", version: "v1" }]);
    expect(dep.properties.spec.allOf).toEqual([{ $ref: "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec" }]);
    expect(doc.components.schemas["io.k8s.api.core.v1.Container"]).toBeDefined(); // referenced closure
    const item = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
    expect(item.patch["x-kubernetes-group-version-kind"]).toEqual({ group: "apps", version: "v1", kind: "Deployment" });
    expect(item.patch.parameters.map((p: any) => p.name)).toContain("fieldValidation");
    expect(Object.keys(item.patch.requestBody.content)).toContain("application/strategic-merge-patch+json");
    expect(doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"].patch["x-kubernetes-group-version-kind"].kind).toBe("Scale");
    expect(doc.components.schemas["io.k8s.api.autoscaling.v1.Scale"]).toBeDefined();
    // Every $ref resolves inside the document.
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const r of new Set(refs)) expect(doc.components.schemas[r.slice('"#/components/schemas/'.length, -1)], r).toBeDefined();
  });

  it("v2 is a Swagger 2.0 document with definitions for every served kind", () => {
    const doc = parse(openApiV2Document().json);
    expect(doc.swagger).toBe("2.0");
    for (const name of ["io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", "io.k8s.api.batch.v1.CronJob", "io.k8s.api.rbac.v1.ClusterRole"]) expect(doc.definitions[name]).toBeDefined();
    expect(doc.paths["/api/v1/namespaces/{namespace}/pods"].post.parameters[0]).toMatchObject({ in: "body", name: "body" });
    const refs = JSON.stringify(doc).match(/"#\/definitions\/[^"]+"/g) ?? [];
    for (const r of new Set(refs)) expect(doc.definitions[r.slice('"#/definitions/'.length, -1)], r).toBeDefined();
  });

  it("accepts a resource set from the registry", () => {
    const only = [{ group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true, verbs: ["get", "list"] }];
    const doc = parse(openApiV3Document("apps/v1", only)!.json);
    expect(Object.keys(doc.paths)).toEqual(["/apis/apps/v1/namespaces/{namespace}/deployments", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "/apis/apps/v1/deployments"]);
    expect(doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch).toBeUndefined();
    expect(parse(openApiV3Index(only).json)).toEqual({ paths: { "apis/apps/v1": { serverRelativeURL: expect.stringMatching(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/) } } });
  });
});
