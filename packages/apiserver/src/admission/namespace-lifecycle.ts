/**
 * NamespaceLifecycle admission: no new objects in a namespace that does not exist or is being
 * terminated, and the system namespaces cannot be deleted.
 */
import { newNotFound, newStatus, StatusError, type Clock } from "@kubemu/common";
import type { Storage } from "../storage/index.js";

export const IMMORTAL_NAMESPACES = ["default", "kube-system", "kube-public"] as const;

type NamespaceState = "active" | "missing" | "terminating";

export class NamespaceLifecycle {
  /** Namespace existence seen recently (ms timestamp), to spare a store read per create. */
  private readonly recent = new Map<string, number>();
  /** The store read in flight per namespace: concurrent creates share it. */
  private readonly reading = new Map<string, Promise<NamespaceState>>();

  constructor(
    private readonly namespaces: Storage,
    private readonly clock: Clock,
    private readonly cacheMs = 1000,
  ) {}

  /**
   * Throws NotFound/Forbidden when `namespace` cannot take new content. The answer is at most
   * cacheMs old; past half of that a busy namespace is re-read in the background, so creates do
   * not wait on a store read (a quorum read) once a second.
   */
  async checkCreate(namespace: string, qualifiedResource: string, name: string | undefined): Promise<void> {
    const seen = this.recent.get(namespace);
    const age = seen === undefined ? Infinity : this.clock.now() - seen;
    if (age < this.cacheMs) {
      if (age >= this.cacheMs / 2) this.refresh(namespace).catch(() => undefined);
      return;
    }
    const state = await this.refresh(namespace);
    if (state === "missing") throw newNotFound({ resource: "namespaces" }, namespace);
    if (state === "terminating") {
      throw new StatusError(
        newStatus(
          "Forbidden",
          `${qualifiedResource} "${name ?? ""}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
          { name: name ?? "", kind: qualifiedResource, causes: [{ reason: "NamespaceTerminating", message: `namespace ${namespace} is being terminated`, field: "metadata.namespace" }] },
        ),
      );
    }
  }

  /** One store read of `namespace` at a time; every caller meanwhile shares its outcome. */
  private refresh(namespace: string): Promise<NamespaceState> {
    let p = this.reading.get(namespace);
    if (!p) {
      p = this.read(namespace).finally(() => this.reading.delete(namespace));
      this.reading.set(namespace, p);
    }
    return p;
  }

  private async read(namespace: string): Promise<NamespaceState> {
    const ns = await this.namespaces.get(`/registry/namespaces/${namespace}`, { ignoreNotFound: true });
    const phase = (ns?.status as { phase?: string } | undefined)?.phase;
    const state: NamespaceState = !ns ? "missing" : ns.metadata.deletionTimestamp || phase === "Terminating" ? "terminating" : "active";
    if (state === "active") this.recent.set(namespace, this.clock.now());
    else this.recent.delete(namespace);
    return state;
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
