/** Rows for core/v1 kinds other than pods, as upstream's printers. */
import type { KubeObject } from "../storage/index.js";
import { age, arr, containersAndImages, get, mapString, num, rec, str } from "./format.js";
import { ageCol, col, nameCol, type Printer } from "./columns.js";

function servicePorts(o: KubeObject): string {
  const ports = arr(get(o, "spec", "ports"));
  if (ports.length === 0) return "<none>";
  return ports.map((p) => `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ""}/${str(p.protocol, "TCP")}`).join(",");
}

function externalIPs(o: KubeObject): string {
  const type = str(get(o, "spec", "type"), "ClusterIP");
  const ext = arr<string>(get(o, "spec", "externalIPs"));
  const ingress = arr(get(o, "status", "loadBalancer", "ingress")).map((i) => str(i.ip) || str(i.hostname));
  switch (type) {
    case "ClusterIP":
    case "NodePort":
      return ext.length ? ext.join(",") : "<none>";
    case "LoadBalancer": {
      const all = [...ingress, ...ext];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return str(get(o, "spec", "externalName"));
    default:
      return "<unknown>";
  }
}

export const servicePrinter: Printer = {
  columns: [
    nameCol(),
    col("Type", "type determines how the Service is exposed."),
    col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
    col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
    col("Port(s)", "The list of ports that are exposed by this service."),
    ageCol(),
    col("Selector", "Route service traffic to pods with label keys and values matching this selector.", 1),
  ],
  row: (o, ctx) => [
    o.metadata.name,
    str(get(o, "spec", "type"), "ClusterIP"),
    str(get(o, "spec", "clusterIP")) || "<none>",
    externalIPs(o),
    servicePorts(o),
    age(o.metadata.creationTimestamp, ctx.now),
    mapString(get(o, "spec", "selector")),
  ],
};

function endpointsCell(o: KubeObject): string {
  const all: string[] = [];
  for (const s of arr(o.subsets)) {
    const ports = arr(s.ports);
    for (const a of arr(s.addresses)) {
      if (ports.length === 0) all.push(str(a.ip));
      for (const p of ports) all.push(`${str(a.ip)}:${String(p.port)}`);
    }
  }
  if (all.length === 0) return "<none>";
  return all.length > 3 ? `${all.slice(0, 3).join(",")} + ${all.length - 3} more...` : all.join(",");
}

export const endpointsPrinter: Printer = {
  columns: [nameCol(), col("Endpoints", "Endpoints is the list of endpoints, addresses and ports."), ageCol()],
  row: (o, ctx) => [o.metadata.name, endpointsCell(o), age(o.metadata.creationTimestamp, ctx.now)],
};

export const namespacePrinter: Printer = {
  columns: [nameCol(), col("Status", "The status of the namespace"), ageCol()],
  row: (o, ctx) => [o.metadata.name, str(get(o, "status", "phase"), "Active"), age(o.metadata.creationTimestamp, ctx.now)],
};

function nodeStatus(o: KubeObject): string {
  const ready = arr(get(o, "status", "conditions")).find((c) => c.type === "Ready");
  // upstream's printNode: Ready when True, "Not"+type for False and Unknown alike; Unknown only without the condition.
  const parts = [!ready ? "Unknown" : ready.status === "True" ? "Ready" : "NotReady"];
  if (get(o, "spec", "unschedulable") === true) parts.push("SchedulingDisabled");
  return parts.join(",");
}

function nodeRoles(o: KubeObject): string {
  const roles: string[] = [];
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) roles.push(k.slice("node-role.kubernetes.io/".length));
    else if (k === "kubernetes.io/role" && v) roles.push(v);
  }
  return roles.length ? roles.sort().join(",") : "<none>";
}

const nodeAddress = (o: KubeObject, type: string) =>
  str(arr(get(o, "status", "addresses")).find((a) => a.type === type)?.address) || "<none>";

export const nodePrinter: Printer = {
  columns: [
    nameCol(),
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    ageCol(),
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
    col("External-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
    col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
    col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
    col("Container-Runtime", "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
  ],
  row: (o, ctx) => [
    o.metadata.name,
    nodeStatus(o),
    nodeRoles(o),
    age(o.metadata.creationTimestamp, ctx.now),
    str(get(o, "status", "nodeInfo", "kubeletVersion")),
    nodeAddress(o, "InternalIP"),
    nodeAddress(o, "ExternalIP"),
    str(get(o, "status", "nodeInfo", "osImage")) || "<unknown>",
    str(get(o, "status", "nodeInfo", "kernelVersion")) || "<unknown>",
    str(get(o, "status", "nodeInfo", "containerRuntimeVersion")) || "<unknown>",
  ],
};

export const configMapPrinter: Printer = {
  columns: [nameCol(), col("Data", "Data contains the configuration data.", 0, "integer"), ageCol()],
  row: (o, ctx) => [
    o.metadata.name,
    Object.keys(rec(o.data)).length + Object.keys(rec(o.binaryData)).length,
    age(o.metadata.creationTimestamp, ctx.now),
  ],
};

export const secretPrinter: Printer = {
  columns: [nameCol(), col("Type", "The type of the secret"), col("Data", "The number of entries in the secret", 0, "integer"), ageCol()],
  row: (o, ctx) => [o.metadata.name, str(o.type, "Opaque"), Object.keys(rec(o.data)).length, age(o.metadata.creationTimestamp, ctx.now)],
};

export const serviceAccountPrinter: Printer = {
  columns: [nameCol(), col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0, "integer"), ageCol()],
  row: (o, ctx) => [o.metadata.name, arr(o.secrets).length, age(o.metadata.creationTimestamp, ctx.now)],
};

function eventObject(o: KubeObject): string {
  const io = rec(o.involvedObject ?? o.regarding);
  return `${str(io.kind).toLowerCase()}/${str(io.name)}`;
}

/** Core and events.k8s.io events share the columns (LAST SEEN TYPE REASON OBJECT MESSAGE). */
export const eventPrinter: Printer = {
  columns: [
    col("Last Seen", "Time when last occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning), new types could be added in the future."),
    col("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col("Object", "The object that this event is about."),
    col("Subobject", "The subcomponent this event is about.", 1),
    col("Source", "The component reporting this event. Should be a short machine understandable string.", 1),
    col("Message", "A human-readable description of the status of this operation."),
    col("First Seen", "The time at which the event was first recorded.", 1),
    col("Count", "The number of times this event has occurred.", 1, "integer"),
    { ...nameCol(), priority: 1 },
  ],
  row: (o, ctx) => {
    const last = str(o.lastTimestamp) || str(get(o, "series", "lastObservedTime")) || str(o.eventTime) || str(o.deprecatedLastTimestamp);
    const first = str(o.firstTimestamp) || str(o.eventTime) || str(o.deprecatedFirstTimestamp);
    const source = rec(o.source);
    const sourceCell = str(source.component) || str(o.reportingController) || str(o.reportingComponent);
    const host = str(source.host) || str(o.reportingInstance);
    return [
      last ? age(last, ctx.now) : age(o.metadata.creationTimestamp, ctx.now),
      str(o.type),
      str(o.reason),
      eventObject(o),
      str(get(o.involvedObject ?? o.regarding, "fieldPath")),
      host ? `${sourceCell}, ${host}` : sourceCell,
      str(o.message ?? o.note),
      first ? age(first, ctx.now) : "<unknown>",
      num(o.count ?? get(o, "series", "count"), 1),
      o.metadata.name,
    ];
  },
};

const accessModes = (modes: unknown): string =>
  arr<string>(modes)
    .map((m) => ({ ReadWriteOnce: "RWO", ReadOnlyMany: "ROX", ReadWriteMany: "RWX", ReadWriteOncePod: "RWOP" })[m] ?? m)
    .join(",");

export const persistentVolumePrinter: Printer = {
  columns: [
    nameCol(),
    col("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
    col("Access Modes", "accessModes contains all ways the volume can be mounted."),
    col("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
    col("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
    col("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
    col("StorageClass", "storageClassName is the name of StorageClass to which this persistent volume belongs."),
    col("VolumeAttributesClass", "Name of VolumeAttributesClass to which this persistent volume belongs."),
    col("Reason", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
    ageCol(),
    col("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.", 1),
  ],
  row: (o, ctx) => {
    const claim = rec(get(o, "spec", "claimRef"));
    return [
      o.metadata.name,
      str(get(o, "spec", "capacity", "storage")),
      accessModes(get(o, "spec", "accessModes")),
      str(get(o, "spec", "persistentVolumeReclaimPolicy"), "Retain"),
      // printPersistentVolume: a PV being deleted reads Terminating.
      o.metadata.deletionTimestamp ? "Terminating" : str(get(o, "status", "phase"), "Pending"),
      claim.name ? `${str(claim.namespace)}/${str(claim.name)}` : "",
      str(get(o, "spec", "storageClassName")),
      str(get(o, "spec", "volumeAttributesClassName")) || "<unset>",
      str(get(o, "status", "reason")),
      age(o.metadata.creationTimestamp, ctx.now),
      str(get(o, "spec", "volumeMode"), "Filesystem"),
    ];
  },
};

export const persistentVolumeClaimPrinter: Printer = {
  columns: [
    nameCol(),
    col("Status", "phase represents the current phase of PersistentVolumeClaim."),
    col("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
    col("Capacity", "capacity represents the actual resources of the underlying volume."),
    col("Access Modes", "accessModes contains the desired access modes the volume should have."),
    col("StorageClass", "storageClassName is the name of the StorageClass required by the claim."),
    col("VolumeAttributesClass", "volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim."),
    ageCol(),
    col("VolumeMode", "volumeMode defines what type of volume is required by the claim.", 1),
  ],
  row: (o, ctx) => [
    o.metadata.name,
    // printPersistentVolumeClaim: a claim being deleted reads Terminating.
    o.metadata.deletionTimestamp ? "Terminating" : str(get(o, "status", "phase"), "Pending"),
    str(get(o, "spec", "volumeName")),
    str(get(o, "status", "capacity", "storage")),
    accessModes(get(o, "status", "accessModes")),
    str(get(o, "spec", "storageClassName")),
    str(get(o, "spec", "volumeAttributesClassName")) || "<unset>",
    age(o.metadata.creationTimestamp, ctx.now),
    str(get(o, "spec", "volumeMode"), "Filesystem"),
  ],
};

export const componentStatusPrinter: Printer = {
  columns: [
    nameCol(),
    col("Status", "Status of the component conditions"),
    col("Message", "Message of the component conditions"),
    col("Error", "Error of the component conditions"),
  ],
  row: (o) => {
    const c = rec(arr(o.conditions)[0]);
    return [o.metadata.name, c.status === "True" ? "Healthy" : "Unhealthy", str(c.message), str(c.error)];
  },
};

/** `requests.cpu: 0/1, pods: 2/10` for the Request column, `limits.*` for the Limit column (status hard/used, as upstream). */
function quotaCells(o: KubeObject): [string, string] {
  const hard = rec(get(o, "status", "hard"));
  const used = rec(get(o, "status", "used"));
  const request: string[] = [];
  const limit: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const cell = `${name}: ${str(used[name], "0")}/${str(hard[name])}`;
    (name.split(".")[0] === "limits" && name.includes(".") ? limit : request).push(cell);
  }
  return [request.join(", "), limit.join(", ")];
}

export const resourceQuotaPrinter: Printer = {
  columns: [
    nameCol(),
    ageCol(),
    col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
    col("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
  ],
  row: (o, ctx) => [o.metadata.name, age(o.metadata.creationTimestamp, ctx.now), ...quotaCells(o)],
};

export const podTemplatePrinter: Printer = {
  columns: [
    nameCol(),
    col("Containers", "Names of each container in the template."),
    col("Images", "Images referenced by each container in the template."),
    col("Pod Labels", "The labels for the pod template."),
  ],
  row: (o) => {
    const [names, images] = containersAndImages(get(o, "template", "spec"));
    return [o.metadata.name, names, images, mapString(get(o, "template", "metadata", "labels"))];
  },
};
