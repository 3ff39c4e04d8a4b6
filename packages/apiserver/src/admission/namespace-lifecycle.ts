/**
 * NamespaceLifecycle admission: no new objects in a namespace that does not exist or is being
 * terminated, and the system namespaces cannot be deleted.
 */
import { newNotFound, newStatus, StatusError, type Clock } from "@kubemu/common";
import type { Storage } from "../storage/index.js";

export const IMMORTAL_NAMESPACES = ["default", "kube-system", "kube-public"] as const;

export class NamespaceLifecycle {
  /** Namespace existence seen recently (ms timestamp), to spare a store read per create. */
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly namespaces: Storage,
    private readonly clock: Clock,
    private readonly cacheMs = 1000,
  ) {}

  /** Throws NotFound/Forbidden when `namespace` cannot take new content. */
  async checkCreate(namespace: string, qualifiedResource: string, name: string | undefined): Promise<void> {
    const seen = this.recent.get(namespace);
    if (seen !== undefined && this.clock.now() - seen < this.cacheMs) return;
    const ns = await this.namespaces.get(`/registry/namespaces/${namespace}`, { ignoreNotFound: true });
    if (!ns) throw newNotFound({ resource: "namespaces" }, namespace);
    const phase = (ns.status as { phase?: string } | undefined)?.phase;
    if (ns.metadata.deletionTimestamp || phase === "Terminating") {
      throw new StatusError(
        newStatus(
          "Forbidden",
          `${qualifiedResource} "${name ?? ""}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
          { name: name ?? "", kind: qualifiedResource, causes: [{ reason: "NamespaceTerminating", message: `namespace ${namespace} is being terminated`, field: "metadata.namespace" }] },
        ),
      );
    }
    this.recent.set(namespace, this.clock.now());
  }

  /** Throws Forbidden for the namespaces that must always exist. */
  checkDelete(name: string): void {
    this.recent.delete(name);
    if ((IMMORTAL_NAMESPACES as readonly string[]).includes(name))
      throw new StatusError(newStatus("Forbidden", `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: "namespaces" }));
  }

  forget(name: string): void {
    this.recent.delete(name);
  }
}
