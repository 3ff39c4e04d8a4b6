/**
 * CustomResourceDefinitions with the real kubectl against two kubemu-apiservers on a real
 * 3-member Raft store (processes): the CronTab example of the Kubernetes docs ("Extend the
 * Kubernetes API with CustomResourceDefinitions"). The CRD is created through apiserver-0; the
 * custom resources are written through apiserver-1, which must have learned of it from the store.
 * Subnets 127.0.152.x (etcd) and 127.0.153.x (apiservers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2eCluster } from "./cluster.js";
import { Kubectl } from "./kubectl-run.js";

const cluster = new E2eCluster("127.0.152", "127.0.153", 2);
let k0: Kubectl;
let k1: Kubectl;
let dir = "";

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              description: CronTabSpec is the desired state of a CronTab.
              properties:
                cronSpec:
                  type: string
                  description: The schedule in Cron format.
                image:
                  type: string
                  description: The image the job runs.
                replicas:
                  type: integer
                  minimum: 1
                  maximum: 10
                  default: 1
            status:
              type: object
              properties:
                replicas:
                  type: integer
                labelSelector:
                  type: string
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
          labelSelectorPath: .status.labelSelector
      additionalPrinterColumns:
        - name: Spec
          type: string
          description: The cron spec defining the interval a CronJob is run
          jsonPath: .spec.cronSpec
        - name: Replicas
          type: integer
          description: The number of jobs launched by the CronJob
          jsonPath: .spec.replicas
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
      - ct
    categories:
      - all
`;

const CR = (extra = "") => `apiVersion: "stable.example.com/v1"
kind: CronTab
metadata:
  name: my-new-cron-object
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
${extra}`;

/** Polls fn until ok(result) (at most 5 s); returns the last result either way. */
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    v = await fn();
  }
  return v;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubemu-crd-"));
  await cluster.start();
  k0 = new Kubectl(await cluster.kubeconfig(0), join(dir, "cache0"));
  k1 = new Kubectl(await cluster.kubeconfig(1), join(dir, "cache1"));
}, 60_000);

afterAll(async () => {
  await cluster.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

describe("CustomResourceDefinitions with kubectl", { timeout: 60_000 }, () => {
  it("apply the CRD on apiserver-0; get crd; a CR applied through apiserver-1 (its discovery cached before) is served", async () => {
    // apiserver-1's kubectl caches discovery before the CRD exists, as a long-lived client would.
    await k1.ok(["api-resources"]);
    await writeFile(join(dir, "crd.yaml"), CRD);
    expect(await k0.ok(["apply", "-f", join(dir, "crd.yaml")])).toBe("customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created\n");
    const crds = await k0.ok(["get", "crd"]);
    expect(crds.split("\n")[0]).toMatch(/^NAME\s+CREATED AT$/);
    expect(crds).toMatch(/^crontabs\.stable\.example\.com\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    await k0.ok(["wait", "--for", "condition=established", "--timeout=10s", "crd/crontabs.stable.example.com"]);
    await writeFile(join(dir, "ct.yaml"), CR());
    expect(await k1.ok(["apply", "-f", join(dir, "ct.yaml")])).toBe("crontab.stable.example.com/my-new-cron-object created\n");
    const table = await k1.ok(["get", "ct"]);
    expect(table.split("\n")[0]).toMatch(/^NAME\s+SPEC\s+REPLICAS\s+AGE$/);
    expect(table).toMatch(/^my-new-cron-object\s+\* \* \* \* \*\/5\s+1\s+\d+s$/m);
    const yaml = await k0.ok(["get", "crontab", "my-new-cron-object", "-o", "yaml"]);
    expect(yaml).toContain("apiVersion: stable.example.com/v1");
    expect(yaml).toContain("kind: CronTab");
    expect(yaml).toMatch(/spec:\n {2}cronSpec: '\* \* \* \* \*\/5'\n {2}image: my-awesome-cron-image\n {2}replicas: 1\n/);
    expect(await k0.ok(["get", "crontabs.stable.example.com", "-o", "name"])).toBe("crontab.stable.example.com/my-new-cron-object\n");
  });

  it("api-resources, get all (category all) and explain", async () => {
    expect(await k1.ok(["api-resources", "--api-group", "stable.example.com"])).toMatch(/^crontabs\s+ct\s+stable\.example\.com\/v1\s+true\s+CronTab$/m);
    expect(await k0.ok(["get", "all"])).toMatch(/^crontab\.stable\.example\.com\/my-new-cron-object\s+\* \* \* \* \*\/5\s+1\s+\d+s$/m);
    const explain = await k1.ok(["explain", "crontab.spec"]);
    expect(explain).toContain("KIND:       CronTab");
    expect(explain).toContain("CronTabSpec is the desired state of a CronTab.");
    expect(explain).toMatch(/cronSpec\s+<string>\n\s+The schedule in Cron format\./);
  });

  it("apply update, patch --type merge (generation), strategic merge refused, status subresource, scale", async () => {
    await writeFile(join(dir, "ct.yaml"), CR("  replicas: 2\n"));
    expect(await k0.ok(["apply", "-f", join(dir, "ct.yaml")])).toBe("crontab.stable.example.com/my-new-cron-object configured\n");
    expect(await k1.ok(["patch", "ct", "my-new-cron-object", "--type", "merge", "-p", '{"spec":{"image":"patched"}}'])).toBe("crontab.stable.example.com/my-new-cron-object patched\n");
    expect(await k0.ok(["get", "ct", "my-new-cron-object", "-o", "jsonpath={.spec.replicas} {.spec.image} {.metadata.generation}"])).toBe("2 patched 3");
    const smp = await k0.run(["patch", "ct", "my-new-cron-object", "-p", '{"spec":{"image":"x"}}']);
    expect(smp.code).not.toBe(0);
    expect(smp.stderr).toContain("application/strategic-merge-patch+json is not supported");
    expect(await k1.ok(["patch", "ct", "my-new-cron-object", "--subresource", "status", "--type", "merge", "-p", '{"status":{"replicas":2,"labelSelector":"app=cron"},"spec":{"image":"ignored"}}'])).toBe(
      "crontab.stable.example.com/my-new-cron-object patched\n",
    );
    expect(await k0.ok(["get", "ct", "my-new-cron-object", "-o", "jsonpath={.status.replicas} {.spec.image} {.metadata.generation}"])).toBe("2 patched 3");
    expect(await k1.ok(["scale", "ct", "my-new-cron-object", "--replicas", "4"])).toBe("crontab.stable.example.com/my-new-cron-object scaled\n");
    expect(await k0.ok(["get", "ct", "my-new-cron-object", "-o", "jsonpath={.spec.replicas}"])).toBe("4");
    expect(await k1.ok(["apply", "--server-side", "--force-conflicts", "-f", join(dir, "ct.yaml")])).toBe("crontab.stable.example.com/my-new-cron-object serverside-applied\n");
  });

  it("schema validation (422 with field paths) and strict unknown fields", async () => {
    await writeFile(join(dir, "bad.yaml"), CR("  replicas: 20\n").replace("image: my-awesome-cron-image", "image: 5"));
    const bad = await k1.run(["apply", "-f", join(dir, "bad.yaml")]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The CronTab "my-new-cron-object" is invalid');
    expect(bad.stderr).toContain('spec.image: Invalid value: "integer": spec.image in body must be of type string: "integer"');
    expect(bad.stderr).toContain("spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10");
    await writeFile(join(dir, "unknown.yaml"), CR("  colour: blue\n").replace("my-new-cron-object", "other"));
    const strict = await k0.run(["apply", "--validate=strict", "-f", join(dir, "unknown.yaml")]);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('unknown field "spec.colour"');
    expect(await k0.ok(["apply", "--validate=false", "-f", join(dir, "unknown.yaml")])).toBe("crontab.stable.example.com/other created\n");
    expect(await k1.ok(["get", "ct", "other", "-o", "jsonpath={.spec}"])).toBe('{"cronSpec":"* * * * */5","image":"my-awesome-cron-image","replicas":1}');
  });

  it("kubectl delete crd removes its instances and the resource from both servers", async () => {
    expect(await k1.ok(["delete", "crd", "crontabs.stable.example.com"])).toBe('customresourcedefinition.apiextensions.k8s.io "crontabs.stable.example.com" deleted\n');
    // apiserver-0 learns of the deletion from its watch of the store: allow it a moment.
    expect(await until(() => k0.ok(["get", "crd"]), (out) => out === "")).toBe("");
    for (const k of [k0, k1]) {
      const gone = await until(() => k.run(["get", "--raw", "/apis/stable.example.com/v1/namespaces/default/crontabs"]), (r) => r.code !== 0);
      expect(gone.stderr).toContain("NotFound");
    }
    expect(await k0.ok(["apply", "-f", join(dir, "crd.yaml")])).toBe("customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created\n");
    await k0.ok(["wait", "--for", "condition=established", "--timeout=10s", "crd/crontabs.stable.example.com"]);
    const empty = await until(() => k1.run(["get", "ct"]), (r) => r.code === 0);
    expect(empty.stdout).toBe("");
    expect(empty.stderr).toContain("No resources found in default namespace.");
  });
});
