/**
 * `kubemu addons enable|configure|disable metallb` through runCli against a real store and API
 * server (packages/apiserver's E2eCluster on 127.1.175.x / 127.1.176.1, plain HTTP): every object of
 * minikube's manifest is accepted, the pool is replaced by configure, disable deletes them. The
 * state dir holds a cluster.json and a kubeconfig pointing at that API server, as `up` leaves them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eCluster } from "../../apiserver/test/e2e/cluster.js";
import { Kubectl } from "../../apiserver/test/e2e/kubectl-run.js";
import { runCli } from "../src/cli.js";
import { renderKubeconfig } from "../src/kubeconfig.js";

const cluster = new E2eCluster("127.1.175", "127.1.176", 1);
let dir = "";
let kubectl: Kubectl;

beforeAll(async () => {
  await cluster.start();
  dir = mkdtempSync(join(tmpdir(), "kubemu-addons-e2e-"));
  writeFileSync(join(dir, "cluster.json"), JSON.stringify({ version: 1, cluster: "kubemu", phase: "up", processes: [] }));
  writeFileSync(join(dir, "kubeconfig"), renderKubeconfig("kubemu", cluster.apiservers[0]!.url));
  kubectl = new Kubectl(join(dir, "kubeconfig"), join(dir, "kubectl-cache"));
}, 60_000);

afterAll(async () => {
  await cluster.stop();
  await new Promise((r) => setTimeout(r, 200)); // the CLI log is written asynchronously
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(["--state-dir", dir, ...argv], { io: { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false }, env: {} });
  return { code, out, err };
}

describe("kubemu addons against a real API server", () => {
  it("enable creates minikube's metallb objects, configure replaces the pool, disable deletes them", async () => {
    const enabled = await cli("addons", "enable", "metallb", "--start-ip", "127.240.2.10", "--end-ip", "127.240.2.20");
    expect(enabled).toMatchObject({ code: 0, err: [] });
    expect(enabled.out.at(-1)).toBe("🌟  The 'metallb' addon is enabled");

    const all = await kubectl.ok(["get", "deployment,daemonset,serviceaccount,configmap,role,rolebinding", "-n", "metallb-system", "-o", "name"]);
    for (const name of ["deployment.apps/controller", "daemonset.apps/speaker", "serviceaccount/controller", "serviceaccount/speaker", "configmap/config", "role.rbac.authorization.k8s.io/config-watcher", "rolebinding.rbac.authorization.k8s.io/config-watcher"]) {
      expect(all).toContain(name);
    }
    expect(await kubectl.ok(["get", "clusterrole,clusterrolebinding", "-o", "name"])).toContain("clusterrole.rbac.authorization.k8s.io/metallb-system:speaker");
    expect(await kubectl.ok(["get", "daemonset", "speaker", "-n", "metallb-system", "-o", "jsonpath={.spec.template.spec.hostNetwork} {.spec.template.spec.containers[0].image}"])).toBe("true metallb/speaker:v0.9.6");
    const config = () => kubectl.ok(["get", "configmap", "config", "-n", "metallb-system", "-o", "jsonpath={.data.config}"]);
    expect(await config()).toBe("address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 127.240.2.10-127.240.2.20\n");

    const listed = await cli("addons", "list");
    expect(listed.out.find((l) => l.startsWith("| metallb"))).toMatch(/\| metallb +\| kubemu +\| enabled ✅ +\| 3rd party \(MetalLB\) +\|/);

    const configured = await cli("addons", "configure", "metallb", "--start-ip", "127.240.2.30", "--end-ip", "127.240.2.40");
    expect(configured).toEqual({ code: 0, out: ["✅  metallb was successfully configured"], err: [] });
    expect(await config()).toContain("- 127.240.2.30-127.240.2.40\n");

    const disabled = await cli("addons", "disable", "metallb");
    expect(disabled).toEqual({ code: 0, out: ["🌑  The 'metallb' addon is disabled"], err: [] });
    expect(await kubectl.ok(["get", "clusterrole", "-o", "name"])).not.toContain("metallb-system:");
    expect((await kubectl.run(["get", "deployment", "controller", "-n", "metallb-system"])).code).not.toBe(0);
  }, 90_000);
});
