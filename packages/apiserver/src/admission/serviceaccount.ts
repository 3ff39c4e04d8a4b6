/**
 * The ServiceAccount admission plugin, as upstream's (plugin/pkg/admission/serviceaccount), on
 * pod create:
 * - a mirror pod (annotation kubernetes.io/config.mirror) is left as it is, but may not name a
 *   service account, reference secrets or project a service account token;
 * - otherwise spec.serviceAccountName defaults to `default`, and that account must exist
 *   (looked up in the watch cache, then read; the `default` one up to 10 times, 100–200 ms apart,
 *   since the controller-manager creates it just after the namespace);
 * - unless automountServiceAccountToken is false (the pod's wins over the account's), every
 *   container and init container that mounts nothing at /var/run/secrets/kubernetes.io/serviceaccount
 *   gets the `kube-api-access-<5 random>` projected volume there, read-only: a bound token
 *   (expirationSeconds 3607), kube-root-ca.crt's ca.crt and the namespace;
 * - the account's imagePullSecrets when the pod has none;
 * - with the account's kubernetes.io/enforce-mountable-secrets annotation, only the secrets the
 *   account lists may be referenced.
 */
import { isNotFound } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import type { Admission } from "../registry/types.js";
import { randomSuffix } from "../rest/meta.js";
import { admissionForbidden } from "./priority.js";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export const SERVICE_ACCOUNT_PLUGIN = "ServiceAccount";
export const DEFAULT_SERVICE_ACCOUNT = "default";
export const DEFAULT_API_TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The projected volume's name prefix (upstream ServiceAccountVolumeName). */
export const SERVICE_ACCOUNT_VOLUME_NAME = "kube-api-access";
/** A token lifetime the API server may extend (upstream WarnOnlyBoundTokenExpirationSeconds). */
export const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";
const ENFORCE_MOUNTABLE_SECRETS_ANNOTATION = "kubernetes.io/enforce-mountable-secrets";
const PODS = { plural: "pods" };

/** The projected volume source the plugin adds (upstream TokenVolumeSource). */
export function tokenVolumeSource(): Obj {
  return {
    defaultMode: 0o644,
    sources: [
      { serviceAccountToken: { expirationSeconds: WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS, path: "token" } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
    ],
  };
}

/** Pod create (other operations and subresources are not this plugin's). */
export async function admitServiceAccount(a: Admission): Promise<void> {
  if (a.operation !== "CREATE" || !a.object || !a.enabled(SERVICE_ACCOUNT_PLUGIN)) return;
  const pod = a.object;
  const spec = (isObj(pod.spec) ? pod.spec : (pod.spec = {})) as Obj;
  const namespace = pod.metadata.namespace ?? "";
  if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return checkMirrorPod(a, spec);

  if (!spec.serviceAccountName) spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
  spec.serviceAccount = spec.serviceAccountName;
  const name = String(spec.serviceAccountName);
  const sa = await findServiceAccount(a, namespace, name);
  if (!sa) throw admissionForbidden(PODS, a.name, `error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`);

  if (shouldAutomount(sa, spec)) mountServiceAccountToken(spec, () => `${SERVICE_ACCOUNT_VOLUME_NAME}-${randomSuffix(a.rng)}`);
  const pullSecrets = Array.isArray(spec.imagePullSecrets) ? spec.imagePullSecrets : [];
  if (pullSecrets.length === 0 && Array.isArray(sa.imagePullSecrets) && sa.imagePullSecrets.length > 0)
    spec.imagePullSecrets = (sa.imagePullSecrets as Obj[]).map((s) => ({ name: s.name }));

  if (enforcesMountableSecrets(sa)) {
    const why = unmountableSecretReference(sa, spec);
    if (why) throw admissionForbidden(PODS, a.name, why);
  }
}

/** Upstream getServiceAccount: the cache first, then live reads (10 for `default`). */
async function findServiceAccount(a: Admission, namespace: string, name: string): Promise<KubeObject | undefined> {
  const cached = (await a.list("", "v1", "serviceaccounts")).find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
  if (cached) return cached;
  const attempts = name === DEFAULT_SERVICE_ACCOUNT ? 10 : 1;
  const interval = 100 + a.rng.int(100);
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await a.sleep(interval);
    try {
      const sa = await a.get("", "v1", "serviceaccounts", name, namespace);
      if (sa) return sa;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return undefined;
}

/** The pod's automountServiceAccountToken wins, then the account's; default true. */
function shouldAutomount(sa: KubeObject, spec: Obj): boolean {
  if (typeof spec.automountServiceAccountToken === "boolean") return spec.automountServiceAccountToken;
  if (typeof sa.automountServiceAccountToken === "boolean") return sa.automountServiceAccountToken;
  return true;
}

/**
 * Mounts kube-api-access-* into every container that does not already mount something at the
 * token path, adding the volume once (a pod that already has a kube-api-access-* volume keeps it).
 */
export function mountServiceAccountToken(spec: Obj, newName: () => string): void {
  const volumes: Obj[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find((v) => isObj(v) && typeof v.name === "string" && v.name.startsWith(`${SERVICE_ACCOUNT_VOLUME_NAME}-`));
  const volumeName: string = existing?.name ?? newName();
  let needed = false;
  for (const list of [spec.initContainers, spec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list as Obj[]) {
      if (!isObj(c)) continue;
      const mounts: Obj[] = Array.isArray(c.volumeMounts) ? c.volumeMounts : [];
      if (mounts.some((m) => isObj(m) && m.mountPath === DEFAULT_API_TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: DEFAULT_API_TOKEN_MOUNT_PATH }];
      needed = true;
    }
  }
  if (needed && !existing) spec.volumes = [...volumes, { name: volumeName, projected: tokenVolumeSource() }];
}

/** A mirror pod (a static pod the kubelet mirrors) may reach no credentials. */
function checkMirrorPod(a: Admission, spec: Obj): void {
  if (spec.serviceAccountName) throw admissionForbidden(PODS, a.name, "a mirror pod may not reference service accounts");
  if (podSecretNames(spec).length > 0) throw admissionForbidden(PODS, a.name, "a mirror pod may not reference secrets");
  for (const v of Array.isArray(spec.volumes) ? (spec.volumes as Obj[]) : [])
    if (isObj(v?.projected) && Array.isArray(v.projected.sources) && v.projected.sources.some((s: Obj) => isObj(s?.serviceAccountToken)))
      throw admissionForbidden(PODS, a.name, "a mirror pod may not use ServiceAccountToken volume projections");
}

const containersOf = (spec: Obj): Obj[] => [spec.initContainers, spec.containers, spec.ephemeralContainers].flatMap((l) => (Array.isArray(l) ? l.filter(isObj) : []));

/** Every secret a pod spec names (upstream VisitPodSecretNames, all containers). */
function podSecretNames(spec: Obj): string[] {
  const names: string[] = [];
  for (const s of Array.isArray(spec.imagePullSecrets) ? spec.imagePullSecrets : []) if (s?.name) names.push(s.name);
  for (const c of containersOf(spec)) {
    for (const e of Array.isArray(c.envFrom) ? c.envFrom : []) if (e?.secretRef?.name) names.push(e.secretRef.name);
    for (const e of Array.isArray(c.env) ? c.env : []) if (e?.valueFrom?.secretKeyRef?.name) names.push(e.valueFrom.secretKeyRef.name);
  }
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (!isObj(v)) continue;
    if (v.secret?.secretName) names.push(v.secret.secretName);
    for (const src of Array.isArray(v.projected?.sources) ? v.projected.sources : []) if (src?.secret?.name) names.push(src.secret.name);
    for (const k of ["azureFile", "cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos", "csi"]) {
      const ref = v[k]?.secretRef?.name ?? v[k]?.nodePublishSecretRef?.name ?? v[k]?.secretName;
      if (typeof ref === "string" && ref) names.push(ref);
    }
  }
  return names;
}

function enforcesMountableSecrets(sa: KubeObject): boolean {
  const v = sa.metadata.annotations?.[ENFORCE_MOUNTABLE_SECRETS_ANNOTATION];
  return v !== undefined && ["1", "t", "T", "true", "TRUE", "True"].includes(v);
}

/** Upstream limitSecretReferences: why the pod may not reference a secret its account does not list, or undefined. */
function unmountableSecretReference(sa: KubeObject, spec: Obj): string | undefined {
  const saName = sa.metadata.name;
  const mountable = new Set(((sa.secrets as Obj[] | undefined) ?? []).map((s) => s?.name));
  for (const v of Array.isArray(spec.volumes) ? (spec.volumes as Obj[]) : []) {
    const secretName = v?.secret?.secretName;
    if (typeof secretName === "string" && !mountable.has(secretName))
      return `volume with secret.secretName="${secretName}" is not allowed because service account ${saName} does not reference that secret`;
  }
  const kinds: [unknown, string][] = [
    [spec.initContainers, "init container"],
    [spec.containers, "container"],
  ];
  for (const [list, what] of kinds) {
    for (const c of Array.isArray(list) ? (list as Obj[]) : []) {
      for (const e of Array.isArray(c?.env) ? (c.env as Obj[]) : []) {
        const ref = e?.valueFrom?.secretKeyRef?.name;
        if (typeof ref === "string" && !mountable.has(ref))
          return `${what} ${c.name} with envVar ${e.name} referencing secret.secretName="${ref}" is not allowed because service account ${saName} does not reference that secret`;
      }
      for (const e of Array.isArray(c?.envFrom) ? (c.envFrom as Obj[]) : []) {
        const ref = e?.secretRef?.name;
        if (typeof ref === "string" && !mountable.has(ref))
          return `${what} ${c.name} with envFrom referencing secret.secretName="${ref}" is not allowed because service account ${saName} does not reference that secret`;
      }
    }
  }
  const pullable = new Set(((sa.imagePullSecrets as Obj[] | undefined) ?? []).map((s) => s?.name));
  const pulls = Array.isArray(spec.imagePullSecrets) ? (spec.imagePullSecrets as Obj[]) : [];
  for (let i = 0; i < pulls.length; i++)
    if (!pullable.has(pulls[i]?.name))
      return `imagePullSecrets[${i}].name="${pulls[i]?.name}" is not allowed because service account ${saName} does not reference that imagePullSecret`;
  return undefined;
}
