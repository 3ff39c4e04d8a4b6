/**
 * The endpoints, EndpointSlice and mirroring controllers in a real kubemu-controller-manager
 * process, against real etcd and API servers, driven by the real kubectl. There is no kubelet
 * yet: the test plays its part, writing pods' status (Running, Ready, pod IPs 127.244.1.x).
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { Kubectl, pinnedKubectl } from "../../../apiserver/test/e2e/kubectl-run.js";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.46", api: "127.1.47", scheduler: "127.1.48", manager: "127.1.49" }, { controllers: "endpoints-controller,endpointslice-controller,endpointslice-mirroring-controller" });

const podsManifest = (names: string[]) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: names.map((name) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx", ports: [{ name: "http", containerPort: 8080 }] }] } })),
  });

const webService = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: http
`;

// The seed's external service: no selector, Endpoints written by hand.
const externalService = `apiVersion: v1
kind: Service
metadata:
  name: external-service
spec:
  ports:
  - port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: external-service
subsets:
- addresses:
  - ip: 11.11.11.11
  - ip: 22.22.22.22
  ports:
  - port: 80
`;

type Pod = KubeObject & { status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] } };
const kubectl = (args: string[], input?: string) => h.kubectl.ok(args, input === undefined ? {} : { input });

useCluster(h, { nodes: ["kubemu"] });

describe("endpoints controllers (kubectl)", () => {
  it("a Service over five Ready pods: get endpoints, describe svc, endpointslices", async () => {
    await kubectl(["apply", "-f", "-"], podsManifest(["web-0", "web-1", "web-2", "web-3", "web-4"]));
    for (const name of ["web-0", "web-1", "web-2", "web-3", "web-4"]) await h.markRunningReady("default", name);
    await kubectl(["apply", "-f", "-"], webService);
    const out = await eventually(() => kubectl(["get", "endpoints", "web"]), (o) => o.includes("127.244.1.2:8080,127.244.1.3:8080,127.244.1.4:8080 + 2 more..."), "Endpoints of web list the five pods", 40_000);
    expect(out).toMatch(/^NAME\s+ENDPOINTS\s+AGE\n/);
    const describe = await kubectl(["describe", "svc", "web"]);
    expect(describe).toMatch(/TargetPort:\s+http\/TCP\nEndpoints:\s+127\.244\.1\.2:8080,127\.244\.1\.3:8080,127\.244\.1\.4:8080 \+ 2 more\.\.\.\n/);
    // kubectl 1.33 builds the same line from the EndpointSlices.
    const k133 = new Kubectl(h.kubectl.kubeconfig, `${h.kubectl.cacheDir}-133`, pinnedKubectl("33"));
    const describe133 = await eventually(() => k133.ok(["describe", "svc", "web"]), (o) => o.includes("+ 2 more..."), "kubectl 1.33 describe svc", 40_000);
    expect(describe133).toMatch(/TargetPort:\s+http\/TCP\nEndpoints:\s+127\.244\.1\.2:8080,127\.244\.1\.3:8080,127\.244\.1\.4:8080 \+ 2 more\.\.\.\n/);
    const slices = await eventually(() => kubectl(["get", "endpointslices", "-l", "kubernetes.io/service-name=web"]), (o) => o.includes("127.244.1.2,127.244.1.3,127.244.1.4 + 2 more..."), "the EndpointSlice of web", 40_000);
    expect(slices).toMatch(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\nweb-[a-z0-9]{5}\s+IPv4\s+8080\s+127\.244\.1\.2,127\.244\.1\.3,127\.244\.1\.4 \+ 2 more\.\.\.\s+\d+s\n$/);
    const labels = JSON.parse(await kubectl(["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "jsonpath={.items[0].metadata.labels}"])) as Record<string, string>;
    expect(labels["endpointslice.kubernetes.io/managed-by"]).toBe("endpointslice-controller.k8s.io");
  }, 120_000);

  it("a pod turning not-ready moves to notReadyAddresses and its slice endpoint to ready=false", async () => {
    const pod = await h.client.get<Pod>(Resources.pods, "default", "web-4");
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False", reason: "ContainersNotReady", lastTransitionTime: now } : c));
    await h.client.updateStatus(Resources.pods, { ...pod, status: { ...pod.status, conditions } });
    await eventually(() => kubectl(["get", "endpoints", "web", "-o", "jsonpath={.subsets[0].notReadyAddresses[*].ip}"]), (o) => o === "127.244.1.6", "web-4 among notReadyAddresses", 40_000);
    expect(await kubectl(["get", "endpoints", "web", "-o", "jsonpath={.subsets[0].addresses[*].ip}"])).toBe("127.244.1.2 127.244.1.3 127.244.1.4 127.244.1.5");
    expect(await kubectl(["get", "endpoints", "web"])).toContain("127.244.1.2:8080,127.244.1.3:8080,127.244.1.4:8080 + 1 more...");
    await eventually(
      () => kubectl(["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", `jsonpath={.items[0].endpoints[?(@.targetRef.name=="web-4")].conditions.ready}`]),
      (o) => o === "false",
      "web-4's slice endpoint not ready",
      40_000,
    );
  }, 90_000);

  it("the seed's external-service keeps its hand-written Endpoints, mirrored into a slice", async () => {
    await kubectl(["apply", "-f", "-"], externalService);
    const slice = await eventually(
      () => kubectl(["get", "endpointslices", "-l", "kubernetes.io/service-name=external-service", "-o", "jsonpath={.items[0].metadata.labels.endpointslice\\.kubernetes\\.io/managed-by} {.items[0].endpoints[*].addresses[0]}"]),
      (o) => o === "endpointslicemirroring-controller.k8s.io 11.11.11.11 22.22.22.22",
      "a mirrored slice of external-service",
      40_000,
    );
    expect(slice).toBeTruthy();
    const before = await h.client.get(Resources.endpoints, "default", "external-service");
    // Give the endpoints controller every chance to touch it (it already synced the Service when it was created).
    await kubectl(["annotate", "svc", "external-service", "touched=yes"]);
    await new Promise((r) => setTimeout(r, 3000));
    const after = await h.client.get(Resources.endpoints, "default", "external-service");
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(await kubectl(["get", "endpoints", "external-service"])).toMatch(/external-service\s+11\.11\.11\.11:80,22\.22\.22\.22:80\s/);
  }, 90_000);

  it("kubectl expose makes a Service whose Endpoints go away with it", async () => {
    await kubectl(["expose", "pod", "web-0", "--name", "web0", "--port", "80", "--target-port", "8080"]);
    await eventually(() => kubectl(["get", "endpoints", "web0"]), (o) => o.includes("127.244.1.2:8080,127.244.1.3:8080,127.244.1.4:8080 + 1 more..."), "Endpoints of the exposed Service", 40_000);
    await kubectl(["delete", "svc", "web0"]);
    await eventually(() => h.kubectl.run(["get", "endpoints", "web0"]), (r) => r.code !== 0 && r.stderr.includes('endpoints "web0" not found'), "Endpoints of the deleted Service gone", 40_000);
  }, 90_000);
});
