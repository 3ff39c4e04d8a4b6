/**
 * The pure core of local-path-provisioner (rancher.io/local-path), as kind ships it: which claims
 * it provisions, the directory name, the PersistentVolume it creates, the helper pods that make and
 * remove the directory on the chosen node, and which volumes it deletes. No I/O here.
 */

export const PROVISIONER_NAME = "rancher.io/local-path";
export const ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner";
export const ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner";
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
export const ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
export const ANN_LOCAL_SELECTED_NODE = "local.path.provisioner/selected-node";
export const DEFAULT_PATH_FOR_NON_LISTED_NODES = "DEFAULT_PATH_FOR_NON_LISTED_NODES";

// Minimal shapes of the objects this program reads (it has no dependency on @kubemu/common).
export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}
export interface Claim {
  metadata: Meta;
  spec?: { storageClassName?: string; volumeName?: string; accessModes?: string[]; volumeMode?: string; resources?: { requests?: Record<string, string> } };
  status?: { phase?: string };
}
export interface StorageClass {
  metadata: Meta;
  provisioner?: string;
  reclaimPolicy?: string;
  volumeBindingMode?: string;
}
export interface Volume {
  metadata: Meta;
  spec?: { persistentVolumeReclaimPolicy?: string; hostPath?: { path: string }; local?: { path: string }; nodeAffinity?: unknown; claimRef?: { namespace?: string; name?: string; uid?: string } };
  status?: { phase?: string };
}

/** config.json's nodePathMap, as the local-path-config ConfigMap holds it. */
export interface ProvisionerConfig {
  nodePathMap: { node: string; paths: string[] }[];
}

export const KIND_CONFIG: ProvisionerConfig = { nodePathMap: [{ node: DEFAULT_PATH_FOR_NON_LISTED_NODES, paths: ["/var/local-path-provisioner"] }] };

export function parseConfig(text: string): ProvisionerConfig {
  const raw = JSON.parse(text) as { nodePathMap?: unknown };
  if (!Array.isArray(raw.nodePathMap)) throw new Error("config: nodePathMap is required");
  const nodePathMap = raw.nodePathMap.map((e: { node?: unknown; paths?: unknown }) => {
    if (typeof e.node !== "string" || !Array.isArray(e.paths) || !e.paths.every((p) => typeof p === "string" && p.startsWith("/"))) {
      throw new Error("config: each nodePathMap entry needs a node and absolute paths");
    }
    return { node: e.node, paths: e.paths as string[] };
  });
  return { nodePathMap };
}

/** The base path for a node: its own entry, else the default one (upstream picks among several paths at random; kubemu takes the first). */
export function basePathFor(config: ProvisionerConfig, node: string): string {
  const entry = config.nodePathMap.find((e) => e.node === node) ?? config.nodePathMap.find((e) => e.node === DEFAULT_PATH_FOR_NON_LISTED_NODES);
  const path = entry?.paths[0];
  if (!path) throw new Error(`config doesn't contain node ${node}, and no ${DEFAULT_PATH_FOR_NON_LISTED_NODES} available`);
  return path;
}

/** The PV is named as the external-provisioner library names it: pvc-<claim uid>. */
export function volumeName(claim: Claim): string {
  return `pvc-${claim.metadata.uid}`;
}

/** The directory under the base path: <pv>_<namespace>_<claim>. */
export function folderName(pvName: string, claim: Claim): string {
  return [pvName, claim.metadata.namespace ?? "default", claim.metadata.name].join("_");
}

export type ProvisionDecision = { provision: true; node: string } | { provision: false; why: string };

/** Whether this claim is ours to provision now (the library's shouldProvision, plus local-path's need for a node). */
export function shouldProvision(claim: Claim, sc: StorageClass | undefined, provisioner = PROVISIONER_NAME): ProvisionDecision {
  const ann = claim.metadata.annotations ?? {};
  if (claim.spec?.volumeName) return { provision: false, why: "already bound" };
  if (claim.metadata.deletionTimestamp) return { provision: false, why: "being deleted" };
  if ((ann[ANN_STORAGE_PROVISIONER] ?? ann[ANN_BETA_STORAGE_PROVISIONER]) !== provisioner) return { provision: false, why: "not our provisioner" };
  if (!sc) return { provision: false, why: `storageclass "${claim.spec?.storageClassName ?? ""}" not found` };
  const node = ann[ANN_SELECTED_NODE];
  // local-path only makes node-pinned volumes: it needs the scheduler's choice (WaitForFirstConsumer).
  if (!node) return { provision: false, why: "waiting for a selected node" };
  return { provision: true, node };
}

const SUPPORTED_ACCESS_MODES = new Set(["ReadWriteOnce", "ReadWriteOncePod"]);

/** local-path's own checks before it makes anything; the message is upstream's. */
export function validateClaim(claim: Claim): string | undefined {
  for (const mode of claim.spec?.accessModes ?? []) {
    if (!SUPPORTED_ACCESS_MODES.has(mode)) return "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes";
  }
  if (claim.spec?.volumeMode === "Block") return "Block volume mode is not supported";
  return undefined;
}

/** The PersistentVolume as kind's provisioner creates it: hostPath DirectoryOrCreate, pinned to the node. */
export function buildVolume(claim: Claim, sc: StorageClass, node: string, path: string, provisioner = PROVISIONER_NAME): Record<string, unknown> {
  const name = volumeName(claim);
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, annotations: { [ANN_LOCAL_SELECTED_NODE]: node, [ANN_PROVISIONED_BY]: provisioner } },
    spec: {
      accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? "0" },
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", name: claim.metadata.name, namespace: claim.metadata.namespace ?? "default", uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion },
      hostPath: { path, type: "DirectoryOrCreate" },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] } },
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata.name,
      volumeMode: claim.spec?.volumeMode ?? "Filesystem",
    },
  };
}

/** Whether a PV is ours to delete now: Released, reclaim Delete, provisioned by us. */
export function shouldDelete(pv: Volume, provisioner = PROVISIONER_NAME): boolean {
  return pv.status?.phase === "Released" && pv.spec?.persistentVolumeReclaimPolicy === "Delete" && pv.metadata.annotations?.[ANN_PROVISIONED_BY] === provisioner && !pv.metadata.deletionTimestamp;
}

/** The node a PV is pinned to (its annotation, else its node affinity). */
export function nodeOfVolume(pv: Volume): string | undefined {
  const ann = pv.metadata.annotations?.[ANN_LOCAL_SELECTED_NODE];
  if (ann) return ann;
  const terms = (pv.spec?.nodeAffinity as { required?: { nodeSelectorTerms?: { matchExpressions?: { key: string; values?: string[] }[] }[] } } | undefined)?.required?.nodeSelectorTerms;
  return terms?.[0]?.matchExpressions?.find((e) => e.key === "kubernetes.io/hostname")?.values?.[0];
}

export const SETUP_SCRIPT = 'set -eu\nmkdir -m 0777 -p "$VOL_DIR"\n';
export const TEARDOWN_SCRIPT = 'set -eu\nrm -rf "$VOL_DIR"\n';

export interface HelperPodSpec {
  action: "create" | "delete";
  pvName: string;
  node: string;
  namespace: string;
  image: string;
  path: string;
  sizeBytes: number;
  script: string;
}

/** The helper pod upstream runs on the volume's node to make or remove the directory (the parent directory mounted as a hostPath). */
export function buildHelperPod(h: HelperPodSpec): Record<string, unknown> {
  const parent = h.path.slice(0, h.path.lastIndexOf("/")) || "/";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `helper-pod-${h.action}-${h.pvName}`, namespace: h.namespace },
    spec: {
      nodeName: h.node,
      restartPolicy: "Never",
      tolerations: [{ operator: "Exists" }],
      containers: [
        {
          name: "helper-pod",
          image: h.image,
          imagePullPolicy: "IfNotPresent",
          command: ["/bin/sh", "-c", h.script],
          env: [
            { name: "VOL_DIR", value: h.path },
            { name: "VOL_MODE", value: "Filesystem" },
            { name: "VOL_SIZE_BYTES", value: String(h.sizeBytes) },
          ],
          volumeMounts: [{ name: "data", mountPath: parent }],
        },
      ],
      volumes: [{ name: "data", hostPath: { path: parent, type: "DirectoryOrCreate" } }],
    },
  };
}

const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A quantity such as 1Gi or 500M in bytes (what VOL_SIZE_BYTES carries). */
export function quantityBytes(q: string | undefined): number {
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|)$/.exec(q ?? "");
  if (!m) return 0;
  return Math.ceil(Number(m[1]) * UNITS[m[2]!]!);
}
