/**
 * What a pod or PersistentVolume refers to, as the Node authorizer's graph records it (upstream's
 * podutil.VisitPodSecretNames / VisitPodConfigmapNames, the claims of persistentVolumeClaim and
 * generic ephemeral volumes, and pvutil.VisitPVSecretNames for the secrets a kubelet reads).
 */
import type { KubeObject } from "@kubemu/common";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const nameOf = (v: unknown): string | undefined => (isObj(v) ? str(v.name) : undefined);

export const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

export interface PodReferences {
  node: string;
  serviceAccount: string | undefined;
  secrets: string[];
  configMaps: string[];
  claims: string[];
  /** Mirror pods grant nothing: a node may create them, so they must not widen what it reads. */
  mirror: boolean;
}

/** Volume sources whose `secretRef` names a secret in the pod's namespace (in-tree plugins). */
const SECRET_REF_VOLUMES = ["cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos"];

export function podReferences(pod: KubeObject): PodReferences | undefined {
  const spec = isObj(pod.spec) ? pod.spec : {};
  const node = str(spec.nodeName);
  if (!node) return undefined;
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  const claims = new Set<string>();
  const add = (set: Set<string>, n: string | undefined) => {
    if (n) set.add(n);
  };
  for (const s of arr(spec.imagePullSecrets)) add(secrets, str(s.name));
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)]) {
    for (const e of arr(c.envFrom)) {
      add(secrets, nameOf(e.secretRef));
      add(configMaps, nameOf(e.configMapRef));
    }
    for (const e of arr(c.env)) {
      const from = isObj(e.valueFrom) ? e.valueFrom : {};
      add(secrets, nameOf(from.secretKeyRef));
      add(configMaps, nameOf(from.configMapKeyRef));
    }
  }
  for (const v of arr(spec.volumes)) {
    if (isObj(v.secret)) add(secrets, str(v.secret.secretName));
    if (isObj(v.configMap)) add(configMaps, str(v.configMap.name));
    if (isObj(v.azureFile)) add(secrets, str(v.azureFile.secretName));
    if (isObj(v.csi)) add(secrets, nameOf(v.csi.nodePublishSecretRef));
    for (const kind of SECRET_REF_VOLUMES) if (isObj(v[kind])) add(secrets, nameOf((v[kind] as Obj).secretRef));
    if (isObj(v.projected))
      for (const src of arr(v.projected.sources)) {
        add(secrets, nameOf(src.secret));
        add(configMaps, nameOf(src.configMap));
      }
    if (isObj(v.persistentVolumeClaim)) add(claims, str(v.persistentVolumeClaim.claimName));
    // A generic ephemeral volume's claim is named <pod>-<volume> (upstream's ephemeral.VolumeClaimName).
    if (isObj(v.ephemeral) && str(v.name)) add(claims, `${pod.metadata.name ?? ""}-${String(v.name)}`);
  }
  return {
    node,
    serviceAccount: str(spec.serviceAccountName),
    secrets: [...secrets],
    configMaps: [...configMaps],
    claims: [...claims],
    mirror: pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined,
  };
}

export interface PvReferences {
  /** "<namespace>/<name>" of the bound claim. */
  claim: string;
  /** "<namespace>/<name>" of the secrets kubelets read to mount the volume. */
  secrets: string[];
}

export function pvReferences(pv: KubeObject): PvReferences | undefined {
  const spec = isObj(pv.spec) ? pv.spec : {};
  const ref = isObj(spec.claimRef) ? spec.claimRef : undefined;
  const claimNs = str(ref?.namespace);
  const claimName = str(ref?.name);
  if (!ref || !claimName) return undefined;
  const secrets = new Set<string>();
  const add = (ns: string | undefined, n: string | undefined) => {
    if (n && (ns ?? claimNs)) secrets.add(`${ns ?? claimNs}/${n}`);
  };
  const secretRef = (v: unknown) => (isObj(v) ? add(str(v.namespace), str(v.name)) : undefined);
  if (isObj(spec.csi)) for (const k of ["nodePublishSecretRef", "nodeStageSecretRef", "nodeExpandSecretRef"]) secretRef(spec.csi[k]);
  if (isObj(spec.azureFile)) add(str(spec.azureFile.secretNamespace), str(spec.azureFile.secretName));
  for (const kind of SECRET_REF_VOLUMES) if (isObj(spec[kind])) secretRef((spec[kind] as Obj).secretRef);
  return { claim: `${claimNs ?? ""}/${claimName}`, secrets: [...secrets] };
}
