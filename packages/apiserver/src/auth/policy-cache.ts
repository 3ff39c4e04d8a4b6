/**
 * Informer caches of Roles, RoleBindings, ClusterRoles and ClusterRoleBindings over this API
 * server's own store (as kube-apiserver's RBAC authorizer reads its shared informers), so an
 * authorization decision never waits on the store. Bindings are indexed by subject.
 */
import { SharedInformer, type KubeObject } from "@kubemu/common";
import type { ServerContext } from "../rest/context.js";
import type { ResourceStore } from "../rest/store.js";
import type { ResourceDef } from "../registry/types.js";
import { storeListerWatcher } from "../internal/local-informer.js";
import { RBAC_GROUP, SUBJECT_INDEX, subjectIndex, type RbacListers } from "./rbac.js";

export class RbacPolicyCache {
  readonly roles: SharedInformer<KubeObject>;
  readonly roleBindings: SharedInformer<KubeObject>;
  readonly clusterRoles: SharedInformer<KubeObject>;
  readonly clusterRoleBindings: SharedInformer<KubeObject>;
  readonly listers: RbacListers;
  private readonly stopping = new AbortController();
  private running: Promise<unknown> | undefined;

  constructor(ctx: ServerContext, store: ResourceStore) {
    const informer = (plural: string, indexed: boolean) =>
      new SharedInformer<KubeObject>({
        name: plural,
        listerWatcher: storeListerWatcher(store, () => def(ctx, plural)),
        clock: ctx.clock,
        logger: ctx.log,
        backoffInitialMs: 200,
        backoffMaxMs: 5_000,
        // Authorization reads only these fields; dropping managedFields keeps the cache small.
        transform: (o) => (o.metadata.managedFields ? { ...o, metadata: { ...o.metadata, managedFields: undefined } } : o),
        ...(indexed ? { indexers: { [SUBJECT_INDEX]: subjectIndex } } : {}),
      });
    this.roles = informer("roles", false);
    this.roleBindings = informer("rolebindings", true);
    this.clusterRoles = informer("clusterroles", false);
    this.clusterRoleBindings = informer("clusterrolebindings", true);
    this.listers = { roles: this.roles.lister, roleBindings: this.roleBindings.lister, clusterRoles: this.clusterRoles.lister, clusterRoleBindings: this.clusterRoleBindings.lister };
  }

  private get all(): SharedInformer<KubeObject>[] {
    return [this.roles, this.roleBindings, this.clusterRoles, this.clusterRoleBindings];
  }

  start(): void {
    this.running ??= Promise.all(this.all.map((i) => i.run(this.stopping.signal)));
  }

  hasSynced(): boolean {
    return this.all.every((i) => i.hasSynced());
  }

  /** Resolves true once every cache has synced, false if signal aborts first. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const s = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    const results = await Promise.all(this.all.map((i) => i.waitForSync(s)));
    return results.every(Boolean);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }
}

function def(ctx: ServerContext, plural: string): ResourceDef {
  const d = ctx.registry.lookup(RBAC_GROUP, "v1", plural);
  if (!d) throw new Error(`${plural}.${RBAC_GROUP} is not served`);
  return d;
}
