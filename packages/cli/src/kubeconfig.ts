import { writeFileSync } from "node:fs";
import { stringify } from "yaml";

/**
 * A kubeconfig for kubectl that points at the cluster's apiserver-lb over plain HTTP (the
 * emulator has no TLS or authentication). Cluster, context and user are all named after the
 * cluster, as minikube does.
 */
export function renderKubeconfig(cluster: string, server: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server } }],
    users: [{ name: cluster, user: {} }],
    contexts: [{ name: cluster, context: { cluster, user: cluster, namespace: "default" } }],
    "current-context": cluster,
    preferences: {},
  });
}

/** Writes the kubeconfig file (mode 0600, as kubectl expects of credentials files). */
export function writeKubeconfig(path: string, cluster: string, server: string): void {
  writeFileSync(path, renderKubeconfig(cluster, server), { mode: 0o600 });
}
