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
