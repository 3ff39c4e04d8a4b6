/** Rows for networking, discovery, coordination, storage and RBAC kinds, and the default printer. */
import { age, arr, get, labelSelectorString, str } from "./format.js";
import { ageCol, col, nameCol, type Printer } from "./columns.js";

export const ingressPrinter: Printer = {
  columns: [
    nameCol(),
    col("Class", "ingressClassName is the name of an IngressClass cluster resource."),
    col("Hosts", "Hosts that incoming requests are matched against before the path."),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"),
    ageCol(),
  ],
  row: (o, ctx) => {
    const hosts = arr(get(o, "spec", "rules")).map((r) => str(r.host) || "*");
    const addrs = arr(get(o, "status", "loadBalancer", "ingress")).map((i) => str(i.ip) || str(i.hostname));
    return [
      o.metadata.name,
      str(get(o, "spec", "ingressClassName")) || "<none>",
      hosts.length ? (hosts.length > 4 ? `${hosts.slice(0, 4).join(",")} + ${hosts.length - 4} more...` : hosts.join(",")) : "*",
      addrs.join(","),
      arr(get(o, "spec", "tls")).length ? "80, 443" : "80",
      age(o.metadata.creationTimestamp, ctx.now),
    ];
  },
};

export const ingressClassPrinter: Printer = {
  columns: [nameCol(), col("Controller", "Controller that is responsible for handling this class"), col("Parameters", "A reference to a resource with additional parameters"), ageCol()],
  row: (o, ctx) => {
    const p = get(o, "spec", "parameters");
    const params = p ? `${str(get(p, "kind"))}/${str(get(p, "name"))}` : "<none>";
    return [o.metadata.name, str(get(o, "spec", "controller")), params, age(o.metadata.creationTimestamp, ctx.now)];
  },
};

export const endpointSlicePrinter: Printer = {
  columns: [
    nameCol(),
    col("AddressType", "The type of addresses carried by this EndpointSlice."),
    col("Ports", "Ports of this EndpointSlice."),
    col("Endpoints", "Addresses of endpoints in this EndpointSlice."),
    ageCol(),
  ],
  row: (o, ctx) => {
    const ports = arr(o.ports).map((p) => String(p.port ?? ""));
    const addrs = arr(o.endpoints).flatMap((e) => arr<string>(e.addresses));
    const addrCell = addrs.length === 0 ? "<unset>" : addrs.length > 3 ? `${addrs.slice(0, 3).join(",")} + ${addrs.length - 3} more...` : addrs.join(",");
    return [o.metadata.name, str(o.addressType), ports.length ? ports.join(",") : "<unset>", addrCell, age(o.metadata.creationTimestamp, ctx.now)];
  },
};

export const leasePrinter: Printer = {
  columns: [nameCol(), col("Holder", "The holder of the lease."), ageCol()],
  row: (o, ctx) => [o.metadata.name, str(get(o, "spec", "holderIdentity")), age(o.metadata.creationTimestamp, ctx.now)],
};

export const storageClassPrinter: Printer = {
  columns: [
    nameCol(),
    col("Provisioner", "Indicates the type of the provisioner."),
    col("ReclaimPolicy", "Indicates the type of the reclaim policy."),
    col("VolumeBindingMode", "Indicates when volume binding and dynamic provisioning should occur."),
    col("AllowVolumeExpansion", "Indicates whether the storage class allow volume expand.", 0, "boolean"),
    ageCol(),
  ],
  row: (o, ctx) => {
    const isDefault = o.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true";
    return [
      isDefault ? `${o.metadata.name} (default)` : o.metadata.name,
      str(o.provisioner),
      str(o.reclaimPolicy, "Delete"),
      str(o.volumeBindingMode, "Immediate"),
      o.allowVolumeExpansion === true ? "true" : "false",
      age(o.metadata.creationTimestamp, ctx.now),
    ];
  },
};

export const priorityClassPrinter: Printer = {
  columns: [
    nameCol(),
    col("Value", "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.", 0, "integer"),
    col(
      "Global-Default",
      "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
      0,
      "boolean",
    ),
    ageCol(),
    col("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.", 0, "string"),
  ],
  row: (o, ctx) => [o.metadata.name, typeof o.value === "number" ? o.value : 0, o.globalDefault === true, age(o.metadata.creationTimestamp, ctx.now), str(o.preemptionPolicy)],
};

const createdAt = () => col("Created At", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0, "date");

/** Roles and ClusterRoles: NAME CREATED AT. */
export const rolePrinter: Printer = {
  columns: [nameCol(), createdAt()],
  row: (o) => [o.metadata.name, o.metadata.creationTimestamp],
};

export const roleBindingPrinter: Printer = {
  columns: [
    nameCol(),
    col("Role", "RoleRef is the Role or ClusterRole being referenced."),
    ageCol(),
    col("Users", "Users in the binding", 1),
    col("Groups", "Groups in the binding", 1),
    col("ServiceAccounts", "ServiceAccounts in the binding", 1),
  ],
  row: (o, ctx) => {
    const subjects = arr(o.subjects);
    const of = (kind: string) =>
      subjects
        .filter((s) => s.kind === kind)
        .map((s) => (kind === "ServiceAccount" ? `${str(s.namespace)}:${str(s.name)}` : str(s.name)))
        .join(", ");
    return [
      o.metadata.name,
      `${str(get(o, "roleRef", "kind"))}/${str(get(o, "roleRef", "name"))}`,
      age(o.metadata.creationTimestamp, ctx.now),
      of("User"),
      of("Group"),
      of("ServiceAccount"),
    ];
  },
};

/** Upstream's default table for kinds without a printer: NAME CREATED AT. */
export const defaultPrinter: Printer = rolePrinter;

export const networkPolicyPrinter: Printer = {
  columns: [nameCol(), col("Pod-Selector", "Pods to which this policy applies"), ageCol()],
  row: (o, ctx) => [o.metadata.name, labelSelectorString(get(o, "spec", "podSelector")), age(o.metadata.creationTimestamp, ctx.now)],
};

/** An int-or-string cell, or N/A when unset (PodDisruptionBudget's min/max columns). */
const intOrNA = (v: unknown): string => (typeof v === "number" || typeof v === "string" ? String(v) : "N/A");

export const podDisruptionBudgetPrinter: Printer = {
  columns: [
    nameCol(),
    col("Min Available", "The minimum number of pods that must be available simultaneously.  This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
    col("Max Unavailable", "The maximum number of pods that may be unavailable simultaneously.  This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
    col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", 0, "integer"),
    ageCol(),
  ],
  row: (o, ctx) => [
    o.metadata.name,
    intOrNA(get(o, "spec", "minAvailable")),
    intOrNA(get(o, "spec", "maxUnavailable")),
    typeof get(o, "status", "disruptionsAllowed") === "number" ? get(o, "status", "disruptionsAllowed") : 0,
    age(o.metadata.creationTimestamp, ctx.now),
  ],
};
