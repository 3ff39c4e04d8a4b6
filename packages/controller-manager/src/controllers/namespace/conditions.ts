/**
 * The namespace's deletion conditions (upstream's status_condition_utils.go): each pass of the
 * deleter collects what failed and what remains, then every one of the five condition types is
 * set — True with the failure, or False with its "all is well" reason — and the status is written
 * only when a condition changed.
 */

export interface NamespaceCondition {
  type: string;
  status: "True" | "False";
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const ConditionTypes = {
  discoveryFailure: "NamespaceDeletionDiscoveryFailure",
  groupVersionParsingFailure: "NamespaceDeletionGroupVersionParsingFailure",
  contentFailure: "NamespaceDeletionContentFailure",
  contentRemaining: "NamespaceContentRemaining",
  finalizersRemaining: "NamespaceFinalizersRemaining",
} as const;

/** In upstream's order (the order they are added to a namespace's status). */
const CONDITION_TYPES: readonly string[] = [
  ConditionTypes.discoveryFailure,
  ConditionTypes.groupVersionParsingFailure,
  ConditionTypes.contentFailure,
  ConditionTypes.contentRemaining,
  ConditionTypes.finalizersRemaining,
];

const OK: Record<string, { reason: string; message: string }> = {
  [ConditionTypes.discoveryFailure]: { reason: "ResourcesDiscovered", message: "All resources successfully discovered" },
  [ConditionTypes.groupVersionParsingFailure]: { reason: "ParsedGroupVersions", message: "All legacy kube types successfully parsed" },
  [ConditionTypes.contentFailure]: { reason: "ContentDeleted", message: "All content successfully deleted, may be waiting on finalization" },
  [ConditionTypes.contentRemaining]: { reason: "ContentRemoved", message: "All content successfully removed" },
  [ConditionTypes.finalizersRemaining]: { reason: "ContentRemoved", message: "All content successfully removed" },
};

/** What remains after a pass: instances per resource ("pods." for core, "widgets.example.com"), and per finalizer. */
export interface ContentTotals {
  /** `${resource}.${group}` → instances left. */
  resourcesRemaining: Map<string, number>;
  finalizersRemaining: Map<string, number>;
}

export class NamespaceConditionUpdater {
  private readonly conditions: NamespaceCondition[] = [];
  private readonly contentErrors: string[] = [];

  constructor(private readonly now: string) {}

  private add(type: string, reason: string, message: string): void {
    this.conditions.push({ type, status: "True", lastTransitionTime: this.now, reason, message });
  }

  /** Discovery failed (for some groups: `failedGroups` names them). */
  processDiscoveryError(message: string, failedGroups?: number): void {
    this.add(ConditionTypes.discoveryFailure, "DiscoveryFailed", failedGroups !== undefined ? `Discovery failed for some groups, ${failedGroups} failing: ${message}` : message);
  }

  processGroupVersionError(message: string): void {
    this.add(ConditionTypes.groupVersionParsingFailure, "GroupVersionParsingFailed", message);
  }

  processDeleteContentError(message: string): void {
    this.contentErrors.push(message);
  }

  processContentTotals(t: ContentTotals): void {
    const resources = [...t.resourcesRemaining].filter(([, n]) => n > 0).map(([r, n]) => `${r} has ${n} resource instances`).sort();
    if (resources.length > 0) this.add(ConditionTypes.contentRemaining, "SomeResourcesRemain", `Some resources are remaining: ${resources.join(", ")}`);
    const finalizers = [...t.finalizersRemaining].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`).sort();
    if (finalizers.length > 0) this.add(ConditionTypes.finalizersRemaining, "SomeFinalizerRemain", `Some finalizers are remaining: ${finalizers.join(", ")}`);
  }

  /** The namespace's conditions after this pass, and whether any changed. */
  update(current: readonly NamespaceCondition[]): { conditions: NamespaceCondition[]; changed: boolean } {
    if (this.contentErrors.length > 0 && !this.conditions.some((c) => c.type === ConditionTypes.contentFailure)) {
      const msgs = [...this.contentErrors].sort();
      this.add(ConditionTypes.contentFailure, "ContentDeletionFailed", `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(", ")}`);
    }
    const out = current.map((c) => ({ ...c }));
    let changed = false;
    for (const type of CONDITION_TYPES) {
      const next = this.conditions.find((c) => c.type === type) ?? { type, status: "False" as const, lastTransitionTime: this.now, ...OK[type]! };
      const old = out.find((c) => c.type === type);
      if (!old) {
        out.push(next);
        changed = true;
      } else if (old.status !== next.status || old.message !== next.message || old.reason !== next.reason) {
        if (old.status !== next.status) old.lastTransitionTime = this.now;
        old.status = next.status;
        old.reason = next.reason;
        old.message = next.message;
        changed = true;
      }
    }
    return { conditions: out, changed };
  }
}
