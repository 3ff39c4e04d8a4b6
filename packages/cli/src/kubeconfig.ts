import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { CliError } from "./errors.js";

/** PEM contents kubectl needs for HTTPS: the CA to trust and the client certificate to present. */
export interface KubeconfigCredentials {
  caCert: string;
  clientCert: string;
  clientKey: string;
}

const b64 = (pem: string) => Buffer.from(pem).toString("base64");

/** The cluster, user and context entries kubemu owns in a kubeconfig (all named after the cluster). */
function entries(cluster: string, server: string, creds: KubeconfigCredentials | undefined) {
  return {
    cluster: { name: cluster, cluster: { server, ...(creds ? { "certificate-authority-data": b64(creds.caCert) } : {}) } },
    user: { name: cluster, user: creds ? { "client-certificate-data": b64(creds.clientCert), "client-key-data": b64(creds.clientKey) } : {} },
    context: { name: cluster, context: { cluster, user: cluster, namespace: "default" } },
  };
}

/**
 * A kubeconfig for kubectl that points at the cluster's apiserver-lb, with the CA and the admin
 * client certificate embedded as kind does (none over plain HTTP). Cluster, context and user are
 * all named after the cluster, as minikube does.
 */
export function renderKubeconfig(cluster: string, server: string, creds?: KubeconfigCredentials): string {
  const e = entries(cluster, server, creds);
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [e.cluster],
    users: [e.user],
    contexts: [e.context],
    "current-context": cluster,
    preferences: {},
  });
}

/** Writes the kubeconfig file (mode 0600, as kubectl expects of credentials files). */
export function writeKubeconfig(path: string, cluster: string, server: string, creds?: KubeconfigCredentials): void {
  writeFileSync(path, renderKubeconfig(cluster, server, creds), { mode: 0o600 });
}

/** The kubeconfig kubectl uses by default: the first file in $KUBECONFIG, else ~/.kube/config. */
export function userKubeconfigPath(env: NodeJS.ProcessEnv): string {
  const first = (env.KUBECONFIG ?? "").split(delimiter).find((p) => p.trim() !== "");
  return first ?? join(env.HOME ?? homedir(), ".kube", "config");
}

type Named = { name?: unknown };
const upsert = (list: unknown, entry: Named): Named[] => {
  const items = Array.isArray(list) ? (list as Named[]).filter((x) => x?.name !== entry.name) : [];
  return [...items, entry];
};

/**
 * Merges the cluster's entries into an existing kubeconfig (replacing entries of the same name,
 * keeping every other cluster, user and context) and makes it the current context, as kind and
 * minikube do. Writes atomically; a file that is not a kubeconfig is left untouched with an error.
 */
export function mergeKubeconfig(path: string, cluster: string, server: string, creds?: KubeconfigCredentials): void {
  let config: Record<string, unknown> = { apiVersion: "v1", kind: "Config", preferences: {} };
  if (existsSync(path)) {
    const text = readFileSync(path, "utf8");
    let parsed: unknown;
    try {
      parsed = text.trim() === "" ? {} : parse(text);
    } catch (e) {
      throw new CliError(`${path} is not valid YAML (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); not merging the kubemu context (use --no-merge-kubeconfig)`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new CliError(`${path} is not a kubeconfig; not merging the kubemu context (use --no-merge-kubeconfig)`);
    }
    config = { ...config, ...(parsed as Record<string, unknown>) };
  }
  const e = entries(cluster, server, creds);
  config.clusters = upsert(config.clusters, e.cluster);
  config.users = upsert(config.users, e.user);
  config.contexts = upsert(config.contexts, e.context);
  config["current-context"] = cluster;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.kubemu-${process.pid}.tmp`;
  writeFileSync(tmp, stringify(config), { mode: 0o600 });
  renameSync(tmp, path);
}
