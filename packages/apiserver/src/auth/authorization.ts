/**
 * Authorization for one API server: the chain of `--authorization-mode=Node,RBAC` (system:masters,
 * then the Node authorizer over its graph of pods and volumes, then RBAC over informer caches of
 * the RBAC objects), the ClusterRole aggregation that fills admin/edit/view, and the bootstrap
 * policy reconcile run at start. The HTTP front and the wire API ask `check`.
 */
import type { ServerContext } from "../rest/context.js";
import type { ResourceStore } from "../rest/store.js";
import type { RequestAttributes, UserInfo } from "./attributes.js";
import { authorizeOrThrow, privilegedGroups, SYSTEM_MASTERS, unionAuthorizer, unionRuleResolver, type Authorizer, type AuthorizerResult, type RuleResolver } from "./authorizer.js";
import { RbacPolicyCache } from "./policy-cache.js";
import { RBAC_GROUP, RbacAuthorizer } from "./rbac.js";
import { ClusterRoleAggregationController } from "./aggregation.js";
import { reconcileBootstrapPolicy } from "./bootstrap/bootstrap-roles.js";
import { runInScope } from "./request-scope.js";
import { NodeGraph } from "./node/graph.js";
import { GraphPopulator } from "./node/graph-populator.js";
import { NodeAuthorizer } from "./node/node-authorizer.js";
import { clusterRoles } from "./bootstrap/cluster-roles.js";
import { rulesOf } from "./rules.js";

/** How long a request waits for the RBAC caches at start before being judged on what they hold. */
const SYNC_WAIT_MS = 10_000;

export class Authorization {
  readonly cache: RbacPolicyCache;
  readonly rbac: RbacAuthorizer;
  /** The Node authorizer's graph of which node may read what, and the informers filling it. */
  readonly nodeGraph = new NodeGraph();
  readonly graphPopulator: GraphPopulator;
  readonly authorizer: Authorizer;
  readonly rules: RuleResolver;
  private readonly aggregation: ClusterRoleAggregationController;
  private synced: Promise<boolean> | undefined;

  constructor(
    private readonly ctx: ServerContext,
    private readonly store: ResourceStore,
    /** --authorization-mode: which authorizers follow system:masters, in order. */
    modes: readonly ("Node" | "RBAC")[] = ["Node", "RBAC"],
  ) {
    this.cache = new RbacPolicyCache(ctx, store);
    this.rbac = new RbacAuthorizer(this.cache.listers);
    this.graphPopulator = new GraphPopulator(ctx, store, this.nodeGraph);
    const nodeRules = rulesOf(clusterRoles().find((r) => r.metadata.name === "system:node"));
    const node = new NodeAuthorizer(this.nodeGraph, () => nodeRules);
    const chosen = modes.map((m) => (m === "Node" ? node : this.rbac));
    this.authorizer = unionAuthorizer([privilegedGroups, ...chosen]);
    this.rules = unionRuleResolver(chosen);
    this.aggregation = new ClusterRoleAggregationController({
      informer: this.cache.clusterRoles,
      store,
      def: () => ctx.registry.lookup(RBAC_GROUP, "v1", "clusterroles")!,
      clock: ctx.clock,
      log: ctx.log.child({ controller: "clusterrole-aggregation" }),
    });
  }

  /** The rbac/bootstrap-roles post-start hook: the default roles and bindings into the store. */
  reconcileBootstrapPolicy(): Promise<void> {
    return reconcileBootstrapPolicy(this.store, this.ctx.registry, this.ctx.log);
  }

  /** Starts the caches and the aggregation; resolves once the caches synced (or after SYNC_WAIT_MS). */
  async start(): Promise<void> {
    this.cache.start();
    this.graphPopulator.start();
    this.aggregation.start();
    if (!(await this.waitForSync())) this.ctx.log.warn({ waitedMs: SYNC_WAIT_MS }, "RBAC caches not synced yet; requests are judged on what they hold");
  }

  /** Until the caches have synced once, a request waits for them (bounded), so a starting server does not deny what it would allow. */
  waitForSync(): Promise<boolean> {
    if (this.hasSynced()) return Promise.resolve(true);
    this.synced ??= (async () => {
      const timeout = new AbortController();
      const t = this.ctx.clock.setTimeout(() => timeout.abort(), SYNC_WAIT_MS);
      try {
        const [rbac, graph] = await Promise.all([this.cache.waitForSync(timeout.signal), this.graphPopulator.waitForSync(timeout.signal)]);
        return rbac && graph;
      } finally {
        t.cancel();
        this.synced = undefined;
      }
    })();
    return this.synced;
  }

  /** True when a decision for user needs no cache (system:masters) or the caches are ready. */
  canDecideNow(user: UserInfo): boolean {
    return user.groups.includes(SYSTEM_MASTERS) || this.hasSynced();
  }

  private hasSynced(): boolean {
    return this.cache.hasSynced() && this.graphPopulator.hasSynced();
  }

  authorize(user: UserInfo, attrs: RequestAttributes): AuthorizerResult {
    return this.authorizer.authorize(user, attrs);
  }

  /** Throws upstream's 403 unless user may do attrs. */
  check(user: UserInfo, attrs: RequestAttributes): void {
    authorizeOrThrow(this.authorizer, user, attrs);
  }

  /** Runs fn as a request of user (what escalation checks deep in a write read). */
  runAs<T>(user: UserInfo, fn: () => T): T {
    return runInScope({ user, authorizer: this.authorizer, rules: this.rules, roleRefRules: (ref, ns) => this.rbac.roleRefRules(ref, ns) }, fn);
  }

  async stop(): Promise<void> {
    await this.aggregation.stop();
    await this.graphPopulator.stop();
    await this.cache.stop();
  }
}
