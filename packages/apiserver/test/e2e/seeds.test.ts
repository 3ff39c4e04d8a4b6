/**
 * Scenarios from the seed documents that need no scheduler, kubelet or controller, driven by the
 * real kubectl against a kubemu-apiserver on the Raft store (processes), with the outputs a real
 * 1.32 cluster prints. Subnets 127.0.154.x (etcd) and 127.0.155.x (apiserver).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2eCluster } from "./cluster.js";
import { Kubectl, pinnedKubectl } from "./kubectl-run.js";

const cluster = new E2eCluster("127.0.154", "127.0.155", 1);
let k: Kubectl;
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubemu-seeds-"));
  await cluster.start();
  k = new Kubectl(await cluster.kubeconfig(0), join(dir, "cache"));
}, 60_000);

afterAll(async () => {
  await cluster.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

const oldDeployment = (apiVersion: string) => `apiVersion: ${apiVersion}
kind: Deployment
metadata:
  name: kubia
spec:
  replicas: 3
  template:
    metadata:
      labels: {app: kubia}
    spec:
      containers:
      - name: nodejs
        image: luksa/kubia:v1
`;

/** The kinds the seeds create (StatefulSet basics, Kubernetes in Action ch. 2-10, kiamol ch. 8). */
const seedObjects = `apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels: {app: nginx}
spec:
  ports: [{port: 80, name: web}]
  clusterIP: None
  selector: {app: nginx}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 2
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.21
        ports: [{containerPort: 80, name: web}]
        resources:
          requests: {cpu: 0.1, memory: 131072Ki}
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 1024Mi}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: pi-job
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: todo-db-backup
spec:
  schedule: "*/2 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: postgres:11.6-alpine
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ssd-monitor
spec:
  selector:
    matchLabels: {app: ssd-monitor}
  template:
    metadata:
      labels: {app: ssd-monitor}
    spec:
      nodeSelector: {disk: ssd}
      containers:
      - name: main
        image: luksa/ssd-monitor
---
apiVersion: v1
kind: ReplicationController
metadata:
  name: kubia
spec:
  replicas: 3
  selector: {app: kubia}
  template:
    metadata:
      labels: {app: kubia}
    spec:
      containers:
      - name: kubia
        image: luksa/kubia
---
apiVersion: v1
kind: Pod
metadata:
  name: kubia-manual
  labels: {creation_method: manual, env: prod}
spec:
  containers:
  - name: kubia
    image: luksa/kubia
    ports: [{containerPort: 8080, protocol: TCP}]
    resources:
      limits: {cpu: 0.5, memory: 1024Mi}
    volumeMounts: [{name: html, mountPath: /var/htdocs}]
  volumes:
  - name: html
    emptyDir: {medium: Memory, sizeLimit: 1048576Ki}
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: mongodb-pv
spec:
  capacity: {storage: 0.5Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/mongodb}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: mongodb-pvc
spec:
  resources:
    requests: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: ""
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: kubia
spec:
  rules:
  - host: kubia.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: nginx, port: {number: 80}}
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: cpu-and-mem
spec:
  hard: {requests.cpu: 0.4, limits.memory: 512000Ki, pods: 10}
---
apiVersion: v1
kind: LimitRange
metadata:
  name: example
spec:
  limits:
  - type: Container
    max: {cpu: 1, memory: 1Gi}
    min: {cpu: 50m, memory: 5Mi}
`;

describe("seed scenarios with the real kubectl", { timeout: 90_000 }, () => {
  it("old and unknown apiVersions fail as on a real 1.32 cluster: no matches for kind, ensure CRDs are installed first", async () => {
    for (const apiVersion of ["apps/v1beta1", "extensions/v1beta1"]) {
      const r = await k.run(["apply", "-f", "-"], { input: oldDeployment(apiVersion) });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: resource mapping not found for name: "kubia" namespace: "" from "STDIN": no matches for kind "Deployment" in version "${apiVersion}"\nensure CRDs are installed first\n`);
    }
    const unknown = await k.run(["create", "-f", "-"], { input: "apiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n" });
    expect(unknown.stderr).toContain('no matches for kind "Foo" in version "v1"');
    expect(unknown.stderr).toContain("ensure CRDs are installed first");
    expect(unknown.stderr).not.toContain("could not find the requested resource");
    // kubectl 1.33 takes the same path (client-side validation reads /openapi/v2 as protobuf).
    const k133 = new Kubectl(k.kubeconfig, join(dir, "cache133"), pinnedKubectl("33"));
    const r133 = await k133.run(["apply", "-f", "-"], { input: oldDeployment("apps/v1beta1") });
    expect(r133.stderr).toContain('no matches for kind "Deployment" in version "apps/v1beta1"');
  });

  it("stores quantities in canonical form, defaults pod requests to limits, and refuses bad quantities in upstream's words", async () => {
    await k.ok(["apply", "-f", "-"], { input: seedObjects });
    expect(await k.ok(["get", "pod", "kubia-manual", "-o", "jsonpath={.spec.containers[0].resources}"])).toBe('{"limits":{"cpu":"500m","memory":"1Gi"},"requests":{"cpu":"500m","memory":"1Gi"}}');
    expect(await k.ok(["get", "pod", "kubia-manual", "-o", "jsonpath={.status.qosClass} {.spec.volumes[0].emptyDir.sizeLimit}"])).toBe("Guaranteed 1Gi");
    expect(await k.ok(["get", "sts", "web", "-o", "jsonpath={.spec.template.spec.containers[0].resources.requests} {.spec.volumeClaimTemplates[0].spec.resources.requests.storage}"])).toBe(
      '{"cpu":"100m","memory":"128Mi"} 1Gi',
    );
    expect(await k.ok(["get", "pv", "mongodb-pv", "-o", "jsonpath={.spec.capacity.storage}"])).toBe("512Mi");
    expect(await k.ok(["get", "quota", "cpu-and-mem", "-o", "jsonpath={.spec.hard}"])).toBe('{"limits.memory":"500Mi","pods":"10","requests.cpu":"400m"}');

    const describe = await k.ok(["describe", "pod", "kubia-manual"]);
    expect(describe).toMatch(/Limits:\n\s+cpu:\s+500m\n\s+memory:\s+1Gi\n\s+Requests:\n\s+cpu:\s+500m\n\s+memory:\s+1Gi/);
    expect(describe).toMatch(/SizeLimit:\s+1Gi/);
    expect(describe).toMatch(/QoS Class:\s+Guaranteed/);
    expect(await k.ok(["describe", "sts", "web"])).toMatch(/Capacity:\s+1Gi/);

    const pod = (resources: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n${resources}`;
    const malformed = await k.run(["apply", "-f", "-"], { input: pod("      limits: {cpu: one}\n") });
    expect(malformed.stderr).toBe(
      `Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n`,
    );
    const suffix = await k.run(["create", "-f", "-"], { input: pod("      requests: {memory: 32MMi}\n") });
    expect(suffix.stderr).toContain("Pod in version \"v1\" cannot be handled as a Pod: unable to parse quantity's suffix");
    const invalid = await k.run(["apply", "-f", "-"], { input: pod("      requests: {cpu: 2}\n      limits: {cpu: 1}\n") });
    expect(invalid.stderr).toBe('The Pod "bad" is invalid: spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1\n');
  });

  it("StatefulSet Basics patches: partitions, json patch of the image, and OnDelete refused while rollingUpdate stays (as upstream)", async () => {
    // Re-applying the manifest re-sends `cpu: 0.1` against the stored `100m`: no spec change.
    await k.ok(["apply", "-f", "-"], { input: seedObjects });
    await k.ok(["apply", "-f", "-"], { input: seedObjects });
    expect(await k.ok(["get", "sts", "web", "-o", "jsonpath={.metadata.generation}"])).toBe("1");
    await k.ok(["patch", "statefulset", "web", "-p", '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":3}}}}']);
    await k.ok(["patch", "statefulset", "web", "--type=json", "-p", '[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value":"registry.k8s.io/nginx-slim:0.24"}]']);
    expect(await k.ok(["get", "sts", "web", "-o", "jsonpath={.spec.updateStrategy} {.spec.template.spec.containers[0].image} {.metadata.generation}"])).toBe(
      '{"rollingUpdate":{"partition":3},"type":"RollingUpdate"} registry.k8s.io/nginx-slim:0.24 3',
    );
    const onDelete = await k.run(["patch", "statefulset", "web", "-p", '{"spec":{"updateStrategy":{"type":"OnDelete"}}}']);
    expect(onDelete.stderr).toBe(
      `The StatefulSet "web" is invalid: spec.updateStrategy.rollingUpdate: Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:3, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'\n`,
    );
    await k.ok(["patch", "statefulset", "web", "-p", '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}']);
    expect(await k.ok(["get", "sts", "web", "-o", "jsonpath={.spec.updateStrategy}"])).toBe('{"type":"OnDelete"}');
    await k.ok(["patch", "sts", "web", "-p", '{"spec":{"replicas":3}}']);
    expect(await k.ok(["get", "sts", "web", "-o", "jsonpath={.spec.replicas} {.status.replicas} {.status.availableReplicas}"])).toBe("3 0 0");
  });

  it("refuses the seeds' broken manifests with a real API server's messages", async () => {
    // Kubernetes in Action's abbreviated snippets and typos, applied as a learner would.
    const abbreviated = await k.run(["apply", "-f", "-"], { input: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: mongodb\nspec:\n  containers:\n    - ...\n" });
    expect(abbreviated.stderr).toBe(
      'Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container\n',
    );
    const secret = await k.run(["apply", "-f", "-"], {
      input: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-ssh-auth\ntype: kubernetes.io/ssh-auth\ndata:\n  ssh-privatekey: |\n          MIIEpQIBAAKCAQEAulqb/Y ...\n",
    });
    expect(secret.stderr).toBe('Error from server (BadRequest): error when creating "STDIN": Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 22\n');
    const typo = await k.run(["apply", "-f", "-"], { input: "apiVersion: v1\nkind: Service\nmetadata:\n  name: kubia-headless\nspec:\n  clusterIp: None\n  ports:\n  - port: 80\n" });
    expect(typo.stderr).toBe('Error from server (BadRequest): error when creating "STDIN": Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.clusterIp"\n');
    const noTemplate = await k.run(["apply", "-f", "-"], {
      input: "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: todo-db\nspec:\n  selector:\n    matchLabels:\n      app: todo-db\n  serviceName: todo-db\n  replicas: 2\n  template:\n",
    });
    expect(noTemplate.stderr).toContain('spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`');
    const mismatch = await k.run(["create", "deployment", "x", "--image=nginx", "--dry-run=client", "-o", "yaml"]);
    const broken = mismatch.stdout.replace("app: x\n    spec:", "app: other\n    spec:");
    expect((await k.run(["apply", "-f", "-"], { input: broken })).stderr).toContain('spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`');
  });

  it("serves ResourceQuota, LimitRange, NetworkPolicy, PodDisruptionBudget and PodTemplate with kubectl's columns and describers", async () => {
    await k.ok(["apply", "-f", "-"], { input: seedObjects });
    expect((await k.ok(["get", "quota"])).split("\n")[0]).toMatch(/^NAME\s+AGE\s+REQUEST\s+LIMIT$/);
    expect((await k.ok(["get", "limits"])).split("\n")[0]).toMatch(/^NAME\s+CREATED AT$/);
    // Container items default the limit to max and the request to the limit (SetDefaults_LimitRangeItem).
    const limits = await k.ok(["describe", "limitrange", "example"]);
    expect(limits).toMatch(/Container\s+cpu\s+50m\s+1\s+1\s+1\s+-/);
    expect(limits).toMatch(/Container\s+memory\s+5Mi\s+1Gi\s+1Gi\s+1Gi\s+-/);
    // Kubernetes in Action's NetworkPolicy and PodDisruptionBudget, and a PodTemplate.
    await k.ok(["apply", "-f", "-"], {
      input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: postgres-netpolicy}
spec:
  podSelector:
    matchLabels: {app: database}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: webserver}
    ports:
    - port: 5432
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: kubia-pdb}
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: kubia}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: pt}
template:
  metadata:
    labels: {app: x}
  spec:
    containers:
    - {name: c, image: nginx, resources: {limits: {cpu: 0.25}}}
`,
    });
    expect(await k.ok(["get", "netpol", "postgres-netpolicy", "-o", "jsonpath={.spec.policyTypes} {.spec.ingress[0].ports[0].protocol}"])).toBe('["Ingress"] TCP');
    expect(await k.ok(["get", "pdb"])).toMatch(/^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\nkubia-pdb\s+2\s+N\/A\s+0\s+/);
    expect(await k.ok(["describe", "netpol", "postgres-netpolicy"])).toMatch(/Allowing ingress traffic:\n\s+To Port: 5432\/TCP\n\s+From:\n\s+PodSelector: app=webserver/);
    expect(await k.ok(["get", "podtemplate", "pt", "-o", "jsonpath={.template.spec.containers[0].resources.limits.cpu}"])).toBe("250m");
    const resources = await k.ok(["api-resources", "--api-group="]);
    expect(resources).toMatch(/\nlimitranges\s+limits\s+v1\s+true\s+LimitRange\n/);
    expect(resources).toMatch(/\nresourcequotas\s+quota\s+v1\s+true\s+ResourceQuota\n/);
  });

  it("describes every served kind (describe fetches events by field selector, related objects by label selector)", async () => {
    await k.ok(["apply", "-f", "-"], { input: seedObjects });
    await k.ok(["create", "configmap", "color", "--from-literal=color=red"]);
    await k.ok(["apply", "-f", "-"], { input: "apiVersion: v1\nkind: Node\nmetadata:\n  name: kubemu-m02\n  labels: {disk: ssd}\nspec:\n  podCIDR: 10.244.1.0/24\n" });
    await k.ok([
      "patch", "node", "kubemu-m02", "--subresource=status", "--type=merge",
      "-p", '{"status":{"capacity":{"cpu":"2","memory":"8048560Ki","pods":"110"},"addresses":[{"type":"InternalIP","address":"127.0.100.2"}]}}',
    ]);
    const names = (await k.ok(["api-resources", "-o", "name", "--verbs=get"])).trim().split("\n");
    expect(names.length).toBeGreaterThan(25);
    for (const name of names) {
      const r = await k.run(["describe", name, "-A"]);
      // A kind with no objects answers "No resources found"; anything else must describe cleanly.
      if (r.code !== 0 || r.stderr) expect({ name, stderr: r.stderr.trim() }).toEqual({ name, stderr: "No resources found" });
    }
    const node = await k.ok(["describe", "node", "kubemu-m02"]);
    expect(node).toMatch(/PodCIDRs:\s+10\.244\.1\.0\/24/);
    // Allocatable defaults to capacity (SetDefaults_NodeStatus).
    expect(node).toMatch(/Allocatable:\n\s+cpu:\s+2\n\s+memory:\s+8048560Ki\n\s+pods:\s+110/);
    expect(await k.ok(["describe", "configmap", "color"])).toMatch(/Data\n====\ncolor:\n----\nred\n/);
  });

  it("answers the REST paths kubectl proxy shows in Kubernetes in Action ch. 8 as upstream", async () => {
    const root = JSON.parse(await k.ok(["get", "--raw", "/"])) as { paths: string[] };
    expect(root.paths).toEqual([...root.paths].sort());
    expect(root.paths).toEqual(expect.arrayContaining(["/apis/", "/apis/batch", "/apis/batch/v1", "/openapi/v2", "/version"]));
    const batch = JSON.parse(await k.ok(["get", "--raw", "/apis/batch/v1"])) as { resources: { name: string; storageVersionHash?: string }[] };
    expect(batch.resources.map((r) => r.name)).toEqual(["cronjobs", "cronjobs/status", "jobs", "jobs/status"]);
    // Upstream's hashes of the storage versions, as the seed's `curl localhost:8001/apis/batch/v1` shows them.
    expect(batch.resources.find((r) => r.name === "cronjobs")?.storageVersionHash).toBe("sd5LIXh4Fjs=");
    expect(batch.resources.find((r) => r.name === "jobs")?.storageVersionHash).toBe("mudhfqk/qZY=");
    const jobs = JSON.parse(await k.ok(["get", "--raw", "/apis/batch/v1/jobs"])) as { kind: string; items: unknown[] };
    expect(jobs.kind).toBe("JobList");
  });
});
