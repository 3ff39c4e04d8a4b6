/**
 * Pods and their service account with the real kubectl (store 127.1.224.x, API server
 * 127.1.225.1, scheduler and the harness's controller-manager 127.1.226.1, node 127.1.227.2, pods
 * 127.236.2.0/24): the kube-api-access volume's files in the container, a missing account refused
 * in upstream's words, automountServiceAccountToken: false, and a pod waiting in
 * ContainerCreating on a missing kube-root-ca.crt until it exists.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, kubeletHarnessForFile } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.1.224", api: "127.1.225", scheduler: "127.1.226" }, [{ name: "kubemu", n: 2 }], { nodes: "127.1.227", pods: "127.236" });
const TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

const podYaml = (name: string, extra = "", command = `ls ${TOKEN_DIR}; cat ${TOKEN_DIR}/namespace; echo; cat ${TOKEN_DIR}/token; echo; cat ${TOKEN_DIR}/ca.crt; echo; echo end-of-files; sleep 3600`, ns = "default") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  terminationGracePeriodSeconds: 1
${extra}  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", ${JSON.stringify(command)}]
`;

const status = async (pod: string, ns = "default") => (await h.kubectl.run(["get", "pod", pod, "-n", ns, "--no-headers"])).stdout.trim().split(/\s+/)[2] ?? "";

describe("pods and their service account", { timeout: 90_000 }, () => {
  it("a pod gets kube-api-access-xxxxx: token for system:serviceaccount:default:default, the harness's CA, its namespace", async () => {
    expect(await h.kubectl.ok(["apply", "-f", "-"], { input: podYaml("reader") })).toBe("pod/reader created\n");
    const volume = await h.kubectl.ok(["get", "pod", "reader", "-o", "jsonpath={.spec.volumes[0].name} {.spec.containers[0].volumeMounts[0].mountPath} {.spec.serviceAccountName}"]);
    expect(volume).toMatch(new RegExp(`^kube-api-access-[a-z0-9]{5} ${TOKEN_DIR} default$`));
    const log = await eventually(async () => h.log("kubemu", "default", "reader", "c"), (l) => l.includes("end-of-files"), "the container's output");
    const [ls1, ls2, ls3, ns, token] = log.split("\n");
    expect([ls1, ls2, ls3]).toEqual(["ca.crt", "namespace", "token"]);
    expect(ns).toBe("default");
    const claims = JSON.parse(Buffer.from(token!.split(".")[1]!, "base64url").toString()) as { sub: string; "kubernetes.io": { pod: { name: string } } };
    expect(claims.sub).toBe("system:serviceaccount:default:default");
    expect(claims["kubernetes.io"].pod.name).toBe("reader");
    expect(log).toContain(readFileSync(join(h.cluster.root, "root-ca.crt"), "utf8").trim());
  });

  it("a pod naming an account that does not exist is refused in upstream's words", async () => {
    const r = await h.kubectl.run(["apply", "-f", "-"], { input: podYaml("orphan", "  serviceAccountName: nope\n") });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('Error from server (Forbidden): error when creating "STDIN": pods "orphan" is forbidden: error looking up service account default/nope: serviceaccount "nope" not found');
  });

  it("automountServiceAccountToken: false mounts nothing", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: podYaml("quiet", "  automountServiceAccountToken: false\n", `ls ${TOKEN_DIR} 2>&1; sleep 3600`) });
    const log = await eventually(async () => h.log("kubemu", "default", "quiet", "c"), (l) => l !== "", "the container's output");
    expect(log).toContain("No such file or directory");
    expect(await h.kubectl.ok(["get", "pod", "quiet", "-o", "jsonpath={.spec.volumes}"])).toBe("");
  });

  it("without kube-root-ca.crt the pod waits in ContainerCreating with FailedMount, and starts once it exists", async () => {
    // No controller-manager from here on: this test plays the serviceaccount controller and the root CA publisher.
    await h.cluster.kill("controller-manager-serviceaccounts");
    await h.kubectl.ok(["create", "namespace", "lonely"]);
    await h.kubectl.ok(["create", "serviceaccount", "default", "-n", "lonely"]);
    await h.kubectl.ok(["apply", "-f", "-"], { input: podYaml("waiting", "", "sleep 3600", "lonely") });
    const events = await eventually(
      async () => h.kubectl.ok(["get", "events", "-n", "lonely", "--field-selector", "involvedObject.name=waiting"]),
      (e) => e.includes("FailedMount"),
      "a FailedMount event",
    );
    const volume = await h.kubectl.ok(["get", "pod", "waiting", "-n", "lonely", "-o", "jsonpath={.spec.volumes[0].name}"]);
    expect(events).toMatch(new RegExp(`Warning\\s+FailedMount\\s+pod/waiting\\s+MountVolume\\.SetUp failed for volume "${volume}" : configmap "kube-root-ca\\.crt" not found`));
    expect(await status("waiting", "lonely")).toBe("ContainerCreating");
    await h.kubectl.ok(["create", "configmap", "kube-root-ca.crt", "-n", "lonely", `--from-file=ca.crt=${join(h.cluster.root, "root-ca.crt")}`]);
    expect(await eventually(() => status("waiting", "lonely"), (s) => s === "Running", "Running once kube-root-ca.crt exists", 40_000)).toBe("Running");
  });
});
