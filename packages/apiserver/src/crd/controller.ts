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
import { deletedObject, isConflict, isNotFound, runWorkers, SharedInformer, WorkQueue, type KubeObject } from "@kubemu/common";
import type { ServerContext } from "../rest/context.js";
import type { ResourceStore } from "../rest/store.js";
import type { ResourceDef } from "../registry/types.js";
import { timestamp } from "../rest/meta.js";
import { storeListerWatcher } from "../internal/local-informer.js";
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
  /** Retry delay after an unfinished cleanup, and the informer's first backoff (default 1000 ms). */
  retryMs?: number;
  /** start() resolves at the first sync, or after this long (default 5000 ms). */
  syncTimeoutMs?: number;
}

/**
 * An informer on customresourcedefinitions feeds CRD names into a work queue; reconcile(name)
 * makes the registry, the status and the instances match the CRD as the informer has it last
 * (gone: stop serving it).
 */
export class CrdController {
  private readonly stopping = new AbortController();
  /** What each CRD is served from (spec + terminating), to skip registry churn on status-only changes. */
  private readonly servedFrom = new Map<string, string>();
  /** CRDs whose names clashed; a CRD going away may free their names. */
  private readonly clashing = new Set<string>();
  private readonly informer: SharedInformer<KubeObject>;
  private readonly queue: WorkQueue<string>;
  private running: Promise<unknown> | undefined;
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
    this.informer = new SharedInformer<KubeObject>({
      name: "customresourcedefinitions",
      listerWatcher: storeListerWatcher(store, () => this.crdDef),
      clock: ctx.clock,
      logger: ctx.log,
      backoffInitialMs: this.retryMs,
      backoffMaxMs: 10 * this.retryMs,
    });
    this.queue = new WorkQueue<string>({ clock: ctx.clock });
    const enqueue = (crd: KubeObject) => this.queue.add(crd.metadata.name!);
    this.informer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, crd) => enqueue(crd),
      onDelete: (crd) => this.queue.add(deletedObject(crd).metadata.name!),
    });
  }

  private get crdDef(): ResourceDef {
    return this.ctx.registry.lookup(crdResource.group, crdResource.version, crdResource.plural)!;
  }

  /** Starts the informer and the worker; resolves once existing CRDs are served (or after syncTimeoutMs). */
  async start(): Promise<void> {
    const signal = this.stopping.signal;
    this.running = Promise.all([this.informer.run(signal), runWorkers(this.queue, (name) => this.reconcileKey(name), { logger: this.ctx.log })]);
    const timeout = new AbortController();
    const t = this.ctx.clock.setTimeout(() => timeout.abort(), this.syncTimeoutMs);
    const synced = await this.informer.waitForSync(AbortSignal.any([signal, timeout.signal]));
    t.cancel();
    if (!synced) {
      this.ctx.log.warn("CRDs not synced in time; serving what is known");
      return;
    }
    // Serve every existing CRD before the API server answers anything; statuses follow in the queue.
    for (const crd of this.informer.lister.list()) this.serve(crd);
  }

  /** Stops the informer and the worker; the registry keeps what it serves. */
  async stop(): Promise<void> {
    this.stopping.abort();
    const drained = this.queue.shutDownWithDrain();
    // Let a reconcile in flight finish, but never hang shutdown on an unreachable store.
    await Promise.race([Promise.all([drained, this.running]).catch(() => undefined), this.ctx.clock.sleep(1000)]);
  }

  /** Level-triggered: whatever happened to the CRD, make everything match its cached state. */
  private async reconcileKey(name: string): Promise<void> {
    if (this.stopping.signal.aborted) return;
    const crd = this.informer.lister.get(undefined, name);
    if (!crd) return this.forget(name);
    await this.reconcile(crd);
  }

  private forget(name: string): void {
    if (!this.servedFrom.has(name) && !this.clashing.has(name)) return;
    this.servedFrom.delete(name);
    this.clashing.delete(name);
    this.ctx.registry.remove(ownerOf(name));
    this.ctx.log.info({ crd: name }, "stopped serving custom resource");
    // Its names are free now: a CRD that clashed with it may be served.
    for (const other of this.clashing) this.queue.add(other);
  }

  private async reconcile(crd: KubeObject): Promise<void> {
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
      this.queue.addAfter(name, this.retryMs);
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
      while (next < items.length && !this.stopping.signal.aborted) {
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
