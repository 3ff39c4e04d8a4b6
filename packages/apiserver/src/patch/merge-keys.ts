/**
 * Strategic-merge metadata for the built-in types: which lists merge (and by which key) rather
 * than being replaced. Upstream takes this from the Go struct tags (patchStrategy/patchMergeKey);
 * here it is keyed by the list's field name and, where one name has two meanings, its parent.
 */

/** How a list field merges. */
export type ListStrategy = { mergeKey: string } | { primitiveMerge: true } | undefined;

/**
 * @param field the list's field name
 * @param parentPath the field names from the object root to the list's parent (array indexes dropped)
 */
export function listStrategy(field: string, parentPath: readonly string[]): ListStrategy {
  const parent = parentPath[parentPath.length - 1];
  switch (field) {
    case "containers":
    case "initContainers":
    case "ephemeralContainers":
    case "volumes":
    case "env":
    case "imagePullSecrets":
    case "resourceClaims":
      return { mergeKey: "name" };
    case "secrets":
      return parentPath.length === 0 ? { mergeKey: "name" } : undefined; // ServiceAccount.secrets
    case "volumeMounts":
      return { mergeKey: "mountPath" };
    case "volumeDevices":
      return { mergeKey: "devicePath" };
    case "ports":
      // Container ports merge by containerPort; Service ports by port.
      if (parent === "containers" || parent === "initContainers" || parent === "ephemeralContainers") return { mergeKey: "containerPort" };
      if (parent === "spec" && parentPath.length === 1) return { mergeKey: "port" };
      return undefined;
    case "conditions":
      return { mergeKey: "type" };
    case "addresses":
      return parent === "status" ? { mergeKey: "type" } : undefined; // NodeStatus.addresses
    case "hostAliases":
      return { mergeKey: "ip" };
    case "podIPs":
    case "hostIPs":
      return { mergeKey: "ip" };
    case "topologySpreadConstraints":
      return { mergeKey: "topologyKey" };
    case "ownerReferences":
      return { mergeKey: "uid" };
    case "finalizers":
      return parent === "metadata" ? { primitiveMerge: true } : undefined;
    default:
      return undefined;
  }
}
