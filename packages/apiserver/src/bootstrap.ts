/**
 * What kube-apiserver creates for itself at start: the system namespaces, the two system
 * PriorityClasses and the `kubernetes` Service in `default` (the service range's first address,
 * 127.96.0.1 by default). Both API
 * servers run it; AlreadyExists is fine.
 */
import { isAlreadyExists, isConflict, isInvalid, isNotFound } from "@kubemu/common";
import type { ResourceStore } from "./rest/store.js";
import type { Registry } from "./registry/registry.js";
import { SYSTEM_PRIORITY_CLASSES } from "./validation/scheduling.js";

export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"] as const;

async function ignoreExisting(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isAlreadyExists(e) && !isConflict(e) && !isInvalid(e)) throw e;
  }
}

export async function bootstrap(store: ResourceStore, registry: Registry, apiPort: number, kubernetesServiceIp: string): Promise<void> {
  const ns = registry.lookup("", "v1", "namespaces")!;
  for (const name of SYSTEM_NAMESPACES)
    await ignoreExisting(store.create(ns, undefined, { metadata: { name } }, { fieldManager: "kube-apiserver" }));
  // Upstream's scheduling/bootstrap-system-priority-classes hook: created when missing, never updated.
  const pc = registry.lookup("scheduling.k8s.io", "v1", "priorityclasses");
  if (pc)
    for (const c of SYSTEM_PRIORITY_CLASSES)
      await ignoreExisting(
        store.create(pc, undefined, { metadata: { name: c.name }, value: c.value, description: c.description, preemptionPolicy: "PreemptLowerPriority" }, { fieldManager: "kube-apiserver" }),
      );
  const svc = registry.lookup("", "v1", "services")!;
  // Look first: creating again would fail on the ClusterIP allocation, not with AlreadyExists.
  try {
    await store.get(svc, "default", "kubernetes");
    return;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await ignoreExisting(
    store.create(
      svc,
      "default",
      {
        metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
        spec: {
          type: "ClusterIP",
          clusterIP: kubernetesServiceIp,
          sessionAffinity: "None",
          ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: apiPort }],
        },
      },
      { fieldManager: "kube-apiserver" },
    ),
  );
}
