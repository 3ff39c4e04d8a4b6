/**
 * ClusterRole aggregation (upstream's clusterrole-aggregation controller, which runs in
 * kube-controller-manager; kubemu runs it in every API server beside the RBAC caches, so the
 * default admin/edit/view roles are filled as soon as the server starts, with no controller
 * process needed). A ClusterRole with an `aggregationRule` gets, in order, the rules of every
 * other ClusterRole its selectors match (sorted by name, each rule once); any ClusterRole change
 * re-checks every aggregated role, so chains (view → edit → admin) settle.
 */
import { isConflict, isNotFound, runWorkers, selectorFromObject, WorkQueue, type KubeObject, type Lister, type SharedInformer } from "@kubemu/common";
import type { Logger } from "pino";
import type { Clock } from "@kubemu/common";
import type { ResourceStore } from "../rest/store.js";
import type { ResourceDef } from "../registry/types.js";
import { rulesOf, sameRule, type PolicyRule } from "./rules.js";

const FIELD_MANAGER = "clusterrole-aggregation-controller";

/** The rules aggregated into target from the ClusterRoles in lister, or undefined when target is not aggregated. */
export function aggregatedRules(target: KubeObject, lister: Pick<Lister<KubeObject>, "list">): PolicyRule[] | undefined {
  const selectors = (target.aggregationRule as { clusterRoleSelectors?: unknown[] } | undefined)?.clusterRoleSelectors;
  if (!target.aggregationRule) return undefined;
  const out: PolicyRule[] = [];
  for (const s of Array.isArray(selectors) ? selectors : []) {
    // As upstream's LabelSelectorAsSelector: {} selects every ClusterRole, a null entry none.
    if (typeof s !== "object" || s === null) continue;
    const roles = lister
      .list({ selector: selectorFromObject(s) })
      .filter((r) => r.metadata.name !== target.metadata.name)
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
    for (const r of roles) for (const rule of rulesOf(r)) if (!out.some((o) => sameRule(o, rule))) out.push(rule);
  }
  return out;
}

function sameRules(a: readonly PolicyRule[], b: readonly PolicyRule[]): boolean {
  return a.length === b.length && a.every((r, i) => sameRule(r, b[i]!));
}

export interface AggregationControllerOptions {
  informer: SharedInformer<KubeObject>;
  store: ResourceStore;
  def: () => ResourceDef;
  clock: Clock;
  log: Logger;
}

export class ClusterRoleAggregationController {
  private readonly queue: WorkQueue<string>;
  private running: Promise<void> | undefined;

  constructor(private readonly o: AggregationControllerOptions) {
    this.queue = new WorkQueue<string>({ clock: o.clock });
    // Any ClusterRole may feed any aggregated one: re-check them all.
    const enqueueAll = () => {
      for (const r of o.informer.lister.list()) if (r.aggregationRule) this.queue.add(r.metadata.name!);
    };
    o.informer.addEventHandler({ onAdd: enqueueAll, onUpdate: enqueueAll, onDelete: enqueueAll });
  }

  start(): void {
    this.running ??= runWorkers(this.queue, (name) => this.sync(name), { logger: this.o.log });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.running;
  }

  private async sync(name: string): Promise<void> {
    const cached = this.o.informer.lister.get(undefined, name);
    if (!cached) return;
    const rules = aggregatedRules(cached, this.o.informer.lister);
    if (rules === undefined || sameRules(rules, rulesOf(cached))) return;
    const def = this.o.def();
    let current: KubeObject;
    try {
      current = await this.o.store.get(def, undefined, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!current.aggregationRule || sameRules(rules, rulesOf(current))) return;
    try {
      await this.o.store.update(def, undefined, name, { ...current, rules }, { fieldManager: FIELD_MANAGER });
      this.o.log.debug({ clusterRole: name, rules: rules.length }, "aggregated ClusterRole rules");
    } catch (e) {
      if (isConflict(e)) return this.queue.add(name); // another API server wrote it; its event requeues us too
      throw e;
    }
  }
}
