/**
 * A container's environment as the kubelet makes it (makeEnvironmentVariables): envFrom
 * (configMaps and secrets, with prefix; invalid names skipped with an event), then env in order
 * (value with $(VAR) expansion over what is defined so far and the service variables; valueFrom
 * fieldRef / resourceFieldRef / configMapKeyRef / secretKeyRef), then the service variables not
 * already defined. Missing sources are the errors upstream gives (the container does not start:
 * CreateContainerConfigError), unless marked optional.
 */
import type { ConfigMap, Container, Pod, Secret, Service } from "kubernetes-types/core/v1.js";
import { containerResourceValue, ConfigError, podFieldValue } from "./downward.js";
import { expand } from "./expansion.js";

export interface EnvSources {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
  /** Every Service (all namespaces): the default/kubernetes one and the pod's namespace's are used. */
  services(): Service[];
  podIP: string;
  hostIP: string;
  allocatable: Record<string, string>;
}

export interface EnvResult {
  env: [string, string][];
  /** Warnings to record as events (reason, message). */
  warnings: { reason: string; message: string }[];
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const envName = (s: string) => s.toUpperCase().replace(/-/g, "_");

/** The Docker-link style variables of one Service (envvars.FromServices). */
export function serviceEnv(service: Service): [string, string][] {
  const ip = service.spec?.clusterIP;
  const ports = service.spec?.ports ?? [];
  if (!ip || ip === "None" || ports.length === 0) return [];
  const prefix = envName(service.metadata?.name ?? "");
  const out: [string, string][] = [];
  out.push([`${prefix}_SERVICE_HOST`, ip]);
  out.push([`${prefix}_SERVICE_PORT`, String(ports[0]!.port)]);
  for (const p of ports) if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  ports.forEach((p, i) => {
    const proto = (p.protocol ?? "TCP").toUpperCase();
    const url = `${proto.toLowerCase()}://${ip}:${p.port}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const pp = `${prefix}_PORT_${p.port}_${proto}`;
    out.push([pp, url], [`${pp}_PROTO`, proto.toLowerCase()], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
  });
  return out;
}

/** Service variables for a pod: default/kubernetes always, the namespace's own with enableServiceLinks. */
export function serviceEnvMap(namespace: string, enableServiceLinks: boolean, services: Service[]): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === "None") continue;
    const name = s.metadata?.name ?? "";
    if (s.metadata?.namespace === "default" && name === "kubernetes") {
      if (!chosen.has(name)) chosen.set(name, s);
    } else if (s.metadata?.namespace === namespace && enableServiceLinks) chosen.set(name, s);
  }
  const out = new Map<string, string>();
  for (const s of chosen.values()) for (const [k, v] of serviceEnv(s)) out.set(k, v);
  return out;
}

function decode(b64: string): string {
  return Buffer.from(b64, "base64").toString("utf8");
}

export function containerEnv(pod: Pod, container: Container, src: EnvSources): EnvResult {
  const ns = pod.metadata?.namespace ?? "default";
  const warnings: EnvResult["warnings"] = [];
  const svc = serviceEnvMap(ns, pod.spec?.enableServiceLinks !== false, src.services());
  const tmp = new Map<string, string>();
  const ips = { podIP: src.podIP, hostIP: src.hostIP };

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    let data: Record<string, string> | undefined;
    let kind: string;
    let name: string;
    if (from.configMapRef) {
      kind = "configMap";
      name = from.configMapRef.name ?? "";
      const cm = src.configMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${name}" not found`);
      }
      data = cm.data ?? {};
    } else if (from.secretRef) {
      kind = "secret";
      name = from.secretRef.name ?? "";
      const s = src.secret(ns, name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ConfigError(`secret "${name}" not found`);
      }
      data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, decode(v)]));
    } else continue;
    const invalid: string[] = [];
    for (const [k0, v] of Object.entries(data)) {
      const k = prefix + k0;
      if (!ENV_NAME.test(k)) {
        invalid.push(k);
        continue;
      }
      tmp.set(k, v);
    }
    if (invalid.length > 0) {
      warnings.push({ reason: "InvalidEnvironmentVariableNames", message: `Keys [${invalid.sort().join(", ")}] from the EnvFrom ${kind} ${ns}/${name} were skipped since they are considered invalid environment variable names.` });
    }
  }

  const lookup = (n: string) => tmp.get(n) ?? svc.get(n);
  for (const e of container.env ?? []) {
    let value = e.value ?? "";
    if (value !== "") value = expand(value, lookup);
    else if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = podFieldValue(pod, vf.fieldRef.fieldPath, ips);
      else if (vf.resourceFieldRef) {
        const target = vf.resourceFieldRef.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === vf.resourceFieldRef!.containerName) : container;
        if (!target) throw new ConfigError(`container ${vf.resourceFieldRef.containerName} not found`);
        value = containerResourceValue(target, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor as string | undefined, src.allocatable);
      } else if (vf.configMapKeyRef) {
        const ref = vf.configMapKeyRef;
        const cm = src.configMap(ns, ref.name ?? "");
        if (!cm) {
          if (ref.optional) continue;
          throw new ConfigError(`configmap "${ref.name}" not found`);
        }
        const v = cm.data?.[ref.key] ?? (cm.binaryData?.[ref.key] !== undefined ? decode(cm.binaryData[ref.key]!) : undefined);
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
        }
        value = v;
      } else if (vf.secretKeyRef) {
        const ref = vf.secretKeyRef;
        const s = src.secret(ns, ref.name ?? "");
        if (!s) {
          if (ref.optional) continue;
          throw new ConfigError(`secret "${ref.name}" not found`);
        }
        const v = s.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
        }
        value = decode(v);
      }
    }
    tmp.set(e.name, value);
  }

  const env: [string, string][] = [...tmp.entries()];
  for (const [k, v] of svc) if (!tmp.has(k)) env.push([k, v]);
  return { env, warnings };
}

/** `$(VAR)` expansion of command and args with the container's final environment (ExpandContainerCommandAndArgs). */
export function expandCommand(list: readonly string[] | undefined, env: readonly [string, string][]): string[] | undefined {
  if (!list) return undefined;
  const m = new Map(env);
  return list.map((s) => expand(s, (n) => m.get(n)));
}
