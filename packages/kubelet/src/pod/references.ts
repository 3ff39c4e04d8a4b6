/** Which configMaps, secrets and claims a pod uses (volumes, projected sources, env, envFrom). */
import type { Pod } from "kubernetes-types/core/v1.js";

export type SourceKind = "configmap" | "secret" | "pvc";

export function podReferences(pod: Pod, kind: SourceKind, name: string): boolean {
  const spec = pod.spec;
  if (!spec) return false;
  for (const v of spec.volumes ?? []) {
    if (kind === "configmap" && v.configMap?.name === name) return true;
    if (kind === "secret" && v.secret?.secretName === name) return true;
    if (kind === "pvc" && v.persistentVolumeClaim?.claimName === name) return true;
    for (const s of v.projected?.sources ?? []) {
      if (kind === "configmap" && s.configMap?.name === name) return true;
      if (kind === "secret" && s.secret?.name === name) return true;
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const e of c.env ?? []) {
      if (kind === "configmap" && e.valueFrom?.configMapKeyRef?.name === name) return true;
      if (kind === "secret" && e.valueFrom?.secretKeyRef?.name === name) return true;
    }
    for (const f of c.envFrom ?? []) {
      if (kind === "configmap" && f.configMapRef?.name === name) return true;
      if (kind === "secret" && f.secretRef?.name === name) return true;
    }
  }
  return false;
}

/**
 * The names of every object of one kind a pod uses, as upstream's secret/configmap managers
 * register them: volumes (and their projected sources), env, envFrom, and for secrets the
 * imagePullSecrets; for claims, the pod's persistentVolumeClaim volumes and the claims of its
 * generic ephemeral volumes (`<pod>-<volume>`).
 */
export function podReferenceNames(pod: Pod, kind: SourceKind): string[] {
  const spec = pod.spec;
  if (!spec) return [];
  const names = new Set<string>();
  const add = (n: string | undefined) => {
    if (n) names.add(n);
  };
  if (kind === "secret") for (const s of spec.imagePullSecrets ?? []) add(s.name);
  for (const v of spec.volumes ?? []) {
    if (kind === "configmap") add(v.configMap?.name);
    if (kind === "secret") add(v.secret?.secretName);
    if (kind === "pvc") add(v.persistentVolumeClaim?.claimName);
    if (kind === "pvc" && v.ephemeral) add(`${pod.metadata?.name ?? ""}-${v.name}`);
    for (const s of v.projected?.sources ?? []) {
      if (kind === "configmap") add(s.configMap?.name);
      if (kind === "secret") add(s.secret?.name);
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) {
      if (kind === "configmap") add(e.valueFrom?.configMapKeyRef?.name);
      if (kind === "secret") add(e.valueFrom?.secretKeyRef?.name);
    }
    for (const f of c.envFrom ?? []) {
      if (kind === "configmap") add(f.configMapRef?.name);
      if (kind === "secret") add(f.secretRef?.name);
    }
  }
  return [...names];
}
