/**
 * The OpenAPI documents driven by the real kubectl (1.32 and 1.33, when installed) through a fake
 * server that serves discovery and these documents: `explain` prints upstream documentation, and
 * client-side `apply` computes its strategic merge patch from the v3 merge keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeApiServer, kubectlBinary } from "./fake-apiserver.js";

const binaries = [32, 33].map((minor) => [minor, kubectlBinary(minor)] as const).filter((b): b is readonly [number, string] => b[1] !== undefined);

describe.skipIf(binaries.length === 0).each(binaries)("kubectl 1.%i against the OpenAPI documents", (_minor, kubectl) => {
  let server: FakeApiServer;
  let dir: string;
  beforeAll(async () => {
    server = await new FakeApiServer().start();
    dir = mkdtempSync(path.join(os.tmpdir(), "kubemu-manifests-"));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("explain pod.spec.containers prints real documentation", async () => {
    const r = await server.kubectl(kubectl, ["explain", "pod.spec.containers"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/KIND:\s+Pod/);
    expect(r.stdout).toMatch(/FIELD: containers <\[\]Container>/);
    expect(r.stdout).toMatch(/List of containers belonging to the pod\./);
    expect(r.stdout).toMatch(/image\s+<string>\n\s+Container image name\./);
    expect(r.stdout).toMatch(/name\s+<string> -required-/);
    expect(r.stdout).toMatch(/ports\s+<\[\]ContainerPort>/);
  });

  it.each([
    ["deployment.spec.strategy", /FIELD: strategy <DeploymentStrategy>[\s\S]*The deployment strategy to use to replace existing pods with new ones\./],
    ["svc.spec.ports.targetPort", /FIELD: targetPort <IntOrString>[\s\S]*Number or name of the port to access on the pods targeted by the service\./],
    ["cronjob.spec.schedule", /FIELD: schedule <string>[\s\S]*The schedule in Cron format/],
    ["ingresses.spec.rules", /GROUP:\s+networking\.k8s\.io[\s\S]*FIELD: rules <\[\]IngressRule>/],
    ["endpointslices.endpoints", /GROUP:\s+discovery\.k8s\.io[\s\S]*FIELD: endpoints <\[\]Endpoint>[\s\S]*addresses\s+<\[\]string> -required-/],
    ["lease.spec.holderIdentity", /holderIdentity contains the identity of the holder of a current lease\./],
    ["configmap", /ConfigMap holds configuration data for pods to consume\.[\s\S]*binaryData\s+<map\[string\]string>/],
    ["clusterrole.rules", /GROUP:\s+rbac\.authorization\.k8s\.io[\s\S]*FIELD: rules <\[\]PolicyRule>/],
    ["pod.metadata.creationTimestamp", /FIELD: creationTimestamp <string>/],
    ["pod.spec.containers.resources.limits", /FIELD: limits <map\[string\]Quantity>/],
  ])("explain %s", async (field, pattern) => {
    const r = await server.kubectl(kubectl, ["explain", field]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(pattern);
  });

  it("apply creates, then patches with the v3 merge keys (no OpenAPI v2 fallback)", async () => {
    const manifest = (image: string): string =>
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: {name: web}",
        "spec:",
        "  selector: {matchLabels: {app: web}}",
        "  template:",
        "    metadata: {labels: {app: web}}",
        "    spec:",
        "      containers:",
        `      - {name: main, image: "${image}", ports: [{containerPort: 80}]}`,
        "      - {name: side, image: busybox}",
      ].join("\n");
    writeFileSync(path.join(dir, "v1.yaml"), manifest("nginx:1"));
    writeFileSync(path.join(dir, "v2.yaml"), manifest("nginx:2"));
    const before = server.requests.length;

    const created = await server.kubectl(kubectl, ["apply", "-f", path.join(dir, "v1.yaml")]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/deployment.apps\/web created/);
    const updated = await server.kubectl(kubectl, ["apply", "-f", path.join(dir, "v2.yaml")]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(/deployment.apps\/web configured/);
    expect(updated.stderr).not.toMatch(/warning/i);

    const mine = server.requests.slice(before);
    const post = mine.find((r) => r.method === "POST");
    expect(post?.url).toMatch(/fieldValidation=Strict/);
    const patch = mine.find((r) => r.method === "PATCH");
    expect(patch?.contentType).toBe("application/strategic-merge-patch+json");
    expect((patch?.decoded as any).spec).toEqual({
      template: { spec: { "$setElementOrder/containers": [{ name: "main" }, { name: "side" }], containers: [{ image: "nginx:2", name: "main" }] } },
    });
    expect(mine.some((r) => r.url.startsWith("/openapi/v2"))).toBe(false);
  });
});
