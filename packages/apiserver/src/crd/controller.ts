/**
 * The CRD controller every API server runs (upstream splits it over the apiextensions-apiserver's
 * crdHandler, naming, establishing and finalizing controllers): it watches
 * customresourcedefinitions in the store and
 * - serves each CRD's versions (adds/replaces/removes them in the registry, so REST, discovery and
 *   OpenAPI follow), on startup for existing CRDs too;
 * - reports status: acceptedNames and the NamesAccepted / Established (and Terminating) conditions;
 * - on deletion, deletes every instance, then removes the cleanup finalizer so the CRD goes.
 * Both API servers do all of it; every write is idempotent or a compare-and-swap, so they agree.
 */
import { isConflict, isNotFound, type Timer } from "@kubemu/common";
import type { ServerContext } from "../rest/context.js";
import type { ResourceStore } from "../rest/store.js";
import type { KubeObject } from "../storage/index.js";
import type { ResourceDef } from "../registry/types.js";
import { timestamp } from "../rest/meta.js";
import { CRD_CLEANUP_FINALIZER, crdResource } from "./crd-resource.js";
import { customResourceDefs } from "./custom-resource.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Registry owner of the CRD declaration itself. */
const CRD_OWNER = "builtin:customresourcedefinitions";
const ownerOf = (name: string): string => `crd:${name}`;
/** Instance deletes in flight while a CRD is being deleted. */
const DELETE_CONCURRENCY = 16;

interface Condition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface CrdControllerOptions {
  /** Retry delay after a failed list/watch or an unfinished cleanup (default 1000 ms). */
  retryMs?: number;
  /** start() resolves at the first sync, or after this long (default 5000 ms). */
  syncTimeoutMs?: number;
}

export class CrdController {
  private stopped = false;
  private watch: { stop(): void } | undefined;
  /** What each CRD is served from (spec + terminating), to skip registry churn on status-only changes. */
  private readonly servedFrom = new Map<string, string>();
  /** CRDs whose names clashed; a CRD going away may free their names. */
  private readonly clashing = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private readonly timers = new Set<Timer>();
  private readonly retryMs: number;
  private readonly syncTimeoutMs: number;

  /** Declares customresourcedefinitions in the registry (once per registry). */
  constructor(
    private readonly ctx: ServerContext,
    private readonly store: ResourceStore,
    o: CrdControllerOptions = {},
  ) {
    this.retryMs = o.retryMs ?? 1000;
    this.syncTimeoutMs = o.syncTimeoutMs ?? 5000;
    if (!ctx.registry.lookup(crdResource.group, crdResource.version, crdResource.plural)) ctx.registry.set(CRD_OWNER, [crdResource]);
  }

  private get crdDef(): ResourceDef {
    return this.ctx.registry.lookup(crdResource.group, crdResource.version, crdResource.plural)!;
  }

  /** Starts list+watch; resolves once existing CRDs are served (or after syncTimeoutMs). */
  start(): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = this.ctx.clock.setTimeout(() => {
        this.ctx.log.warn("CRDs not synced in time; serving what is known");
        resolve();
      }, this.syncTimeoutMs);
      void this.run(() => {
        t.cancel();
        resolve();
      });
    });
  }

  /** Stops watching; the registry keeps what it serves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    // Let a reconcile in flight finish, but never hang shutdown on an unreachable store.
    await Promise.race([this.queue.catch(() => undefined), this.ctx.clock.sleep(1000)]);
  }

  private async run(onSynced: () => void): Promise<void> {
    let synced = false;
    while (!this.stopped) {
      try {
        const list = await this.store.list(this.crdDef, undefined, {});
        const present = new Set(list.items.map((c) => c.metadata.name!));
        for (const name of [...this.servedFrom.keys()]) if (!present.has(name)) this.enqueue(() => this.forget(name));
        for (const crd of list.items) this.enqueue(() => this.reconcile(crd));
        await this.queue;
        if (!synced) {
          synced = true;
          onSynced();
        }
        const watch = this.store.watch(this.crdDef, undefined, { resourceVersion: list.resourceVersion });
        this.watch = watch;
        if (this.stopped) watch.stop();
        for await (const ev of watch) {
          if (ev.type === "ERROR") break; // e.g. 410 Expired: list again
          if (ev.type === "BOOKMARK") continue;
          const crd = ev.object as KubeObject;
          if (ev.type === "DELETED") this.enqueue(() => this.forget(crd.metadata.name!));
          else this.enqueue(() => this.reconcile(crd));
        }
        watch.stop();
      } catch (e) {
        if (this.stopped) return;
        this.ctx.log.warn({ err: e instanceof Error ? e.message : String(e) }, "CRD watch failed; listing again");
      }
      if (!this.stopped) await this.ctx.clock.sleep(this.retryMs);
    }
  }

  /** Runs work one item at a time, in event order; a failure is logged, never fatal. */
  private enqueue(work: () => Promise<void> | void): void {
    this.queue = this.queue.then(work).catch((e: unknown) => {
      this.ctx.log.warn({ err: e instanceof Error ? e.message : String(e) }, "CRD reconcile failed");
    });
  }

  private later(fn: () => void): void {
    if (this.stopped) return;
    const t = this.ctx.clock.setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, this.retryMs);
    this.timers.add(t);
  }

  private forget(name: string): void {
    this.servedFrom.delete(name);
    this.clashing.delete(name);
    this.ctx.registry.remove(ownerOf(name));
    this.ctx.log.info({ crd: name }, "stopped serving custom resource");
    for (const other of this.clashing) this.enqueue(() => this.recheck(other));
  }

  /** Reconciles the stored state of a CRD (gone: nothing to do). */
  private async recheck(name: string): Promise<void> {
    try {
      await this.reconcile(await this.store.get(this.crdDef, undefined, name));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async reconcile(crd: KubeObject): Promise<void> {
    if (this.stopped) return;
    const conflict = this.serve(crd);
    await this.updateStatus(crd, conflict);
    if (crd.metadata.deletionTimestamp && (crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) await this.cleanup(crd);
  }

  /** Registers the CRD's served versions; returns a names-conflict message when it cannot. */
  private serve(crd: KubeObject): string | undefined {
    const name = crd.metadata.name!;
    const key = JSON.stringify([crd.spec, crd.metadata.deletionTimestamp !== undefined]);
    if (this.servedFrom.get(name) === key) return undefined;
    const defs = customResourceDefs(crd);
    const clash = defs.find((d) => this.ctx.registry.resources.some((r) => r.group === d.group && r.version === d.version && r.kind === d.kind && !this.ctx.registry.ownedBy(ownerOf(name)).includes(r)));
    if (clash) {
      this.clashing.add(name);
      return `"${clash.kind}" is already in use`;
    }
    try {
      this.ctx.registry.set(ownerOf(name), defs);
    } catch (e) {
      this.clashing.add(name);
      return e instanceof Error ? e.message : String(e);
    }
    this.clashing.delete(name);
    this.servedFrom.set(name, key);
    this.ctx.log.info({ crd: name, versions: defs.map((d) => d.version) }, "serving custom resource");
    return undefined;
  }

  private async updateStatus(crd: KubeObject, conflict: string | undefined): Promise<void> {
    const spec = isObj(crd.spec) ? crd.spec : {};
    const status = isObj(crd.status) ? crd.status : {};
    const now = timestamp(this.ctx.clock.now());
    const old = (Array.isArray(status.conditions) ? status.conditions : []).filter(isObj) as unknown as Condition[];
    const want: Condition[] = conflict
      ? [{ type: "NamesAccepted", status: "False", reason: "NameConflict", message: conflict }, { type: "Established", status: "False", reason: "NotAccepted", message: "not all names are accepted" }]
      : [{ type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found" }, { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "the initial names have been accepted" }];
    if (crd.metadata.deletionTimestamp) want.push({ type: "Terminating", status: "True", reason: "InstanceDeletionInProgress", message: "CustomResource deletion is in progress" });
    const conditions = want.map((c) => {
      const prev = old.find((o) => o.type === c.type);
      return { ...c, lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now };
    });
    const acceptedNames = conflict ? (status.acceptedNames ?? { plural: "", kind: "" }) : spec.names;
    const same = (a: Condition[], b: Condition[]) => a.length === b.length && a.every((c, i) => c.type === b[i]!.type && c.status === b[i]!.status && c.reason === b[i]!.reason && c.message === b[i]!.message);
    if (same(old, conditions) && JSON.stringify(status.acceptedNames) === JSON.stringify(acceptedNames)) return;
    try {
      await this.store.patch(this.crdDef, undefined, crd.metadata.name!, "merge", { metadata: { resourceVersion: crd.metadata.resourceVersion }, status: { conditions, acceptedNames } }, { subresource: "status", fieldManager: "kube-apiserver" });
    } catch (e) {
      // Another API server got there first, or the CRD changed or went: the next event decides.
      if (!isConflict(e) && !isNotFound(e)) throw e;
    }
  }

  /** Deletes every instance; when none is left, removes the finalizer (the CRD then goes). */
  private async cleanup(crd: KubeObject): Promise<void> {
    const name = crd.metadata.name!;
    const def = this.storageDef(crd);
    let remaining = 0;
    if (def) {
      await this.deleteAll(def);
      remaining = (await this.store.list(def, undefined, {})).items.length;
    }
    if (remaining > 0) {
      // Instances with finalizers of their own: look again until they are gone.
      this.ctx.log.info({ crd: name, remaining }, "waiting for custom resources to be deleted");
      this.later(() => this.enqueue(() => this.recheck(name)));
      return;
    }
    const finalizers = (crd.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    try {
      await this.store.patch(this.crdDef, undefined, name, "merge", { metadata: { resourceVersion: crd.metadata.resourceVersion, finalizers: finalizers.length ? finalizers : null } }, { fieldManager: "kube-apiserver" });
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) throw e;
    }
  }

  /** Deletes every instance, a few at a time (one store round trip each; sequential would take minutes for thousands). */
  private async deleteAll(def: ResourceDef): Promise<void> {
    const { items } = await this.store.list(def, undefined, {});
    let next = 0;
    const worker = async () => {
      while (next < items.length && !this.stopped) {
        const item = items[next++]!;
        try {
          await this.store.delete(def, item.metadata.namespace, item.metadata.name!, {});
        } catch (e) {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: DELETE_CONCURRENCY }, worker));
  }

  /** A declaration over the CRD's storage (any version: they share one), served or not. */
  private storageDef(crd: KubeObject): ResourceDef | undefined {
    const spec = isObj(crd.spec) ? crd.spec : {};
    const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObj) : [];
    const withAll = { ...crd, spec: { ...spec, versions: versions.map((v) => ({ ...v, served: true })) } } as KubeObject;
    const defs = customResourceDefs({ ...withAll, metadata: { ...crd.metadata, deletionTimestamp: undefined } } as KubeObject);
    const storage = versions.find((v) => v.storage === true);
    return defs.find((d) => d.version === storage?.name) ?? defs[0];
  }
}
