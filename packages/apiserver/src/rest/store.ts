/**
 * The generic registry store: create/get/list/watch/update/patch/delete for any declared
 * resource, with upstream's semantics (metadata bookkeeping, defaulting, validation, status
 * split, generation, finalizers and graceful deletion, managedFields). A write passes upstream's
 * stages: defaulting → mutating admission (the chain of admission/plugins.ts, then the
 * declaration's own `admit`) → validation → validating admission → storage. Whatever is
 * particular to a kind comes from its declaration (name rule, status on create, deletion
 * holds, storage hooks); this file never asks which kind it serves. The HTTP handlers and the
 * internal wire API both call this; authentication and authorization happened before.
 */
import { isAlreadyExists, isNotFound, newBadRequest, newConflict, newInternalError, newNotFound, type StatusError } from "@kubemu/common";
import type { KubeObject, ListResult, Storage, Watch } from "../storage/index.js";
import { mapListItems } from "../storage/index.js";
import type { FieldError, ResourceDef } from "../registry/types.js";
import { groupVersion, qualifiedResource } from "../registry/types.js";
import { keyFor, type ServerContext } from "./context.js";
import { prepareCreateMeta, prepareUpdateMeta, randomSuffix, timestamp } from "./meta.js";
import { invalidError, methodNotAllowed, strategicMergeUnsupported } from "./errors.js";
import { validateMeta, validateMetaUpdate } from "../validation/meta.js";
import { parseLabelSelector } from "@kubemu/common";
import { checkTypes } from "../validation/types.js";
import { checkFieldsSupported, defaultFields, parseFieldSelector } from "@kubemu/common";
import { recordUpdate, serverSideApply } from "../patch/managed-fields.js";
import { applyJsonPatch } from "../patch/json-patch.js";
import { applyMergePatch } from "../patch/merge-patch.js";
import { applyStrategicMergePatch } from "../patch/strategic.js";
import { strategyFor } from "../patch/schema-strategy.js";
import type { DeleteOptions } from "./delete-options.js";
import { deletionFinalizers } from "./gc-finalizers.js";
import { PodEviction } from "./eviction.js";
import { NamespaceLifecycle } from "../admission/namespace-lifecycle.js";
import { ServiceAllocators } from "../allocators/service-allocators.js";
import { AdmissionChain, type AdmissionRequest } from "../admission/chain.js";
import { admissionPlugins } from "../admission/plugins.js";
import type { HookEnv } from "../registry/storage-hooks.js";
import { currentScope } from "../auth/request-scope.js";

import type { PatchType } from "@kubemu/common";
export type { PatchType };

export interface WriteOptions {
  dryRun?: boolean;
  /** Who writes (managedFields); defaults to "unknown". */
  fieldManager?: string;
  /** Set for writes through a subresource (status). */
  subresource?: string;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  /** Checks the decoded body for unknown fields (Strict field validation); throws to reject. */
  checkUnknownFields?: (def: ResourceDef, obj: unknown) => void;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan" | "Exact";
}

export interface WatchQuery extends ListQuery {
  allowBookmarks?: boolean;
  sendInitialEvents?: boolean;
  signal?: AbortSignal;
}

/** Result of a delete: the object's last state, and whether it is gone or only marked. */
export interface DeleteResult {
  object: KubeObject;
  deleted: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export class ResourceStore {
  readonly lifecycle: NamespaceLifecycle;
  readonly allocators: ServiceAllocators;
  /** The admission plugins, in upstream's order (admission/plugins.ts). */
  readonly admission: AdmissionChain;

  constructor(private readonly ctx: ServerContext) {
    const nsDef = ctx.registry.lookup("", "v1", "namespaces")!;
    this.lifecycle = new NamespaceLifecycle(ctx.storageFor(nsDef), ctx.clock);
    this.allocators = new ServiceAllocators(ctx.storage.forResource({ resource: "ranges" }), ctx.rng, ctx.serviceCidr);
    const getCore = async (plural: string, ns: string | undefined, name: string) => {
      try {
        return await this.get(ctx.registry.lookup("", "v1", plural)!, ns, name);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    };
    const plugins = admissionPlugins({
      def: (plural) => ctx.registry.lookup("", "v1", plural)!,
      list: async (def, ns, consistent) => (await this.list(def, ns, consistent ? {} : { resourceVersion: "0" })).items,
      storage: (def) => this.storage(def),
      clock: ctx.clock,
      namespaces: this.lifecycle,
      nodes: { user: () => currentScope()?.user, getPod: (ns, name) => getCore("pods", ns, name), getNode: (name) => getCore("nodes", undefined, name) },
    });
    this.admission = new AdmissionChain(plugins, ctx.disabledAdmissionPlugins);
  }

  private hookEnv(dryRun: boolean | undefined): HookEnv {
    return { allocators: this.allocators, namespaces: this.lifecycle, dryRun: dryRun ?? false };
  }

  private storage(def: ResourceDef): Storage {
    return this.ctx.storageFor(def);
  }

  private now(): string {
    return timestamp(this.ctx.clock.now());
  }

  /** The predicate for label and field selectors (BadRequest on bad syntax or unknown fields). */
  predicate(def: ResourceDef, q: ListQuery): ((o: KubeObject) => boolean) | undefined {
    const labels = parseLabelSelector(q.labelSelector);
    const fields = parseFieldSelector(q.fieldSelector);
    checkFieldsSupported(fields, Object.keys(def.fields ?? {}));
    if (labels.requirements.length === 0 && fields.requirements.length === 0) return undefined;
    const extractors = def.fields ?? {};
    return (o) => {
      if (!labels.matches(o.metadata.labels)) return false;
      if (fields.requirements.length === 0) return true;
      const values: Record<string, string | undefined> = defaultFields(o);
      for (const r of fields.requirements) if (extractors[r.field]) values[r.field] = extractors[r.field]!(o);
      return fields.matches(values);
    };
  }

  async get(def: ResourceDef, ns: string | undefined, name: string, resourceVersion?: string): Promise<KubeObject> {
    const obj = await this.storage(def).get(keyFor(def, ns, name), resourceVersion ? { resourceVersion } : {});
    return this.typed(def, obj!);
  }

  async list(def: ResourceDef, ns: string | undefined, q: ListQuery): Promise<ListResult> {
    const predicate = this.predicate(def, q);
    const res = await this.storage(def).list(keyFor(def, ns), {
      recursive: true,
      ...(q.resourceVersion !== undefined ? { resourceVersion: q.resourceVersion } : {}),
      ...(q.resourceVersionMatch ? { resourceVersionMatch: q.resourceVersionMatch } : {}),
      ...(q.limit ? { limit: q.limit } : {}),
      ...(q.continue ? { continue: q.continue } : {}),
      ...(predicate ? { predicate } : {}),
    });
    return mapListItems(res, (o) => this.typed(def, o));
  }

  watch(def: ResourceDef, ns: string | undefined, q: WatchQuery): Watch {
    const predicate = this.predicate(def, q);
    return this.storage(def).watch(keyFor(def, ns), {
      recursive: true,
      ...(q.resourceVersion !== undefined ? { resourceVersion: q.resourceVersion } : {}),
      ...(predicate ? { predicate } : {}),
      ...(q.allowBookmarks ? { allowBookmarks: true } : {}),
      ...(q.sendInitialEvents ? { sendInitialEvents: true } : {}),
      ...(q.signal ? { signal: q.signal } : {}),
    });
  }

  /** Sets apiVersion/kind (stored objects carry them, but be sure). */
  typed(def: ResourceDef, o: KubeObject): KubeObject {
    o.apiVersion = groupVersion(def);
    o.kind = def.kind;
    return o;
  }

  /** Checks apiVersion/kind of a request body against the endpoint and fills them when absent. */
  private checkTypeMeta(def: ResourceDef, obj: KubeObject): void {
    const gv = groupVersion(def);
    if (obj.apiVersion !== undefined && obj.apiVersion !== gv)
      throw newBadRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${gv})`);
    if (obj.kind !== undefined && obj.kind !== def.kind) throw newBadRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${def.kind})`);
    obj.apiVersion = gv;
    obj.kind = def.kind;
  }

  private checkBody(body: unknown, def?: ResourceDef): KubeObject {
    if (!isObj(body)) throw newBadRequest("the request body must be a JSON object");
    if (body.metadata === undefined || body.metadata === null) body.metadata = {};
    if (!isObj(body.metadata)) throw newBadRequest("metadata must be an object");
    if (def) checkTypes(def, body);
    return body as KubeObject;
  }

  private validate(def: ResourceDef, obj: KubeObject, old?: KubeObject): void {
    const errs: FieldError[] = [...validateMeta(obj, def.nameRule ?? "subdomain", def.namespaced)];
    if (old) errs.push(...validateMetaUpdate(obj, old));
    if (def.validate) errs.push(...def.validate(obj, old));
    if (errs.length) throw invalidError(def, obj.metadata.name ?? "", errs);
  }

  private setNamespace(def: ResourceDef, obj: KubeObject, ns: string | undefined): void {
    if (!def.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns)
      throw newBadRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (ns) obj.metadata.namespace = ns;
  }

  async create(def: ResourceDef, ns: string | undefined, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    if (def.readOnly) throw methodNotAllowed();
    const obj = this.checkBody(body, def);
    this.checkTypeMeta(def, obj);
    opts.checkUnknownFields?.(def, obj);
    this.setNamespace(def, obj, ns);
    const requestName = obj.metadata.name ?? "";
    prepareCreateMeta(obj, this.ctx.rng, this.ctx.clock.now(), def.tracksGeneration ?? false);
    if (!obj.metadata.name) throw invalidError(def, "", [{ reason: "FieldValueRequired", field: "metadata.name", message: "name or generateName is required" }]);
    // Upstream PrepareForCreate resets status (nodes report their own at registration).
    if (def.hasStatus && !def.keepsStatusOnCreate) obj.status = {};
    const template = obj.metadata.generateName ? structuredClone(obj) : undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.createPrepared(def, obj, opts, false, requestName);
      } catch (e) {
        // A generated name that collides is retried with a new suffix (upstream RetryGenerateName).
        if (!template || !isAlreadyExists(e) || attempt >= 8) throw e;
        Object.assign(obj, structuredClone(template));
        obj.metadata.name = template.metadata.generateName + randomSuffix(this.ctx.rng);
      }
    }
  }

  /**
   * What admission sees of a write. `name` is the request's: "" for a create whose name the
   * server generates (as admission errors name it).
   */
  private attributes(
    def: ResourceDef,
    operation: AdmissionRequest["operation"],
    name: string,
    opts: { dryRun?: boolean; subresource?: string },
    namespace: string | undefined,
    object?: KubeObject,
    old?: KubeObject,
  ): AdmissionRequest {
    const lookup = (group: string, version: string, plural: string): ResourceDef => {
      const d = this.ctx.registry.lookup(group, version, plural);
      if (!d) throw newInternalError(`admission of ${qualifiedResource(def)} reads ${plural}, which is not served`);
      return d;
    };
    return {
      def,
      operation,
      ...(object ? { object } : {}),
      ...(old ? { old } : {}),
      name,
      ...(namespace ? { namespace } : {}),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
      dryRun: opts.dryRun ?? false,
      defaultTolerationSeconds: this.ctx.profile.defaultTolerationSeconds,
      list: async (group, version, plural, consistent) => (await this.list(lookup(group, version, plural), undefined, consistent ? {} : { resourceVersion: "0" })).items,
      get: async (group, version, plural, n, ns) => {
        try {
          return await this.get(lookup(group, version, plural), ns, n);
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
      enabled: (plugin) => !this.ctx.disabledAdmissionPlugins?.has(plugin),
      rng: this.ctx.rng,
      sleep: (ms) => this.ctx.clock.sleep(ms),
    };
  }

  /** Mutating admission: the chain's plugins in order, then the declaration's own hook (never for subresource writes). */
  private async mutatingAdmission(r: AdmissionRequest): Promise<void> {
    await this.admission.admit(r);
    if (r.def.admit && !r.subresource) await r.def.admit(r);
  }

  /** Create after metadata is prepared (shared with server-side apply). */
  private async createPrepared(def: ResourceDef, obj: KubeObject, opts: WriteOptions, managedFieldsDone: boolean, requestName: string): Promise<KubeObject> {
    def.defaults?.(obj);
    const admission = this.attributes(def, "CREATE", requestName, opts, obj.metadata.namespace, obj);
    await this.mutatingAdmission(admission);
    this.validate(def, obj);
    await this.admission.validate(admission);
    if (!managedFieldsDone) recordUpdate(undefined, obj, opts.fieldManager ?? "unknown", this.now(), opts.subresource);
    const env = this.hookEnv(opts.dryRun);
    const undo = await def.storageHooks?.beforeCreate?.(obj, env);
    try {
      const created = await this.storage(def).create(keyFor(def, obj.metadata.namespace, obj.metadata.name), obj, { dryRun: opts.dryRun ?? false });
      if (!opts.dryRun) await def.storageHooks?.afterCreate?.(created, env);
      return this.typed(def, created);
    } catch (e) {
      await undo?.();
      throw e;
    }
  }

  /**
   * The shared update path: `next` is the client's desired object (from PUT or a patch), `cur` the
   * stored one. Returns what to store.
   */
  private async prepareUpdate(def: ResourceDef, cur: KubeObject, desired: KubeObject, opts: WriteOptions, ssaDone: boolean): Promise<KubeObject> {
    this.checkTypeMeta(def, desired);
    if (desired.metadata.name !== undefined && desired.metadata.name !== cur.metadata.name)
      throw newBadRequest(`the name of the object (${String(desired.metadata.name)}) does not match the name on the URL (${String(cur.metadata.name)})`);
    desired.metadata.name = cur.metadata.name;
    this.setNamespace(def, desired, cur.metadata.namespace);
    let next: KubeObject;
    if (opts.subresource === "status") {
      // Status writes change only status (upstream ResetObjectMetaForStatus).
      next = structuredClone(cur);
      if (desired.status !== undefined) next.status = desired.status;
      else delete next.status;
      if (def.statusWritesMetadata) {
        const { labels: _ignored, ...meta } = structuredClone(desired.metadata);
        next.metadata = { ...meta, ...(cur.metadata.labels ? { labels: structuredClone(cur.metadata.labels) } : {}) };
      }
      if (desired.metadata.resourceVersion) next.metadata.resourceVersion = desired.metadata.resourceVersion;
    } else if (opts.subresource === "finalize") {
      next = structuredClone(cur);
      next.spec = { ...(isObj(cur.spec) ? cur.spec : {}), finalizers: isObj(desired.spec) ? desired.spec.finalizers : undefined };
    } else {
      next = desired;
      if (def.hasStatus) {
        if (cur.status !== undefined) next.status = structuredClone(cur.status);
        else delete next.status;
      }
    }
    const rvSent = next.metadata.resourceVersion;
    // Decode-time normalisation first (quantities, defaults), as upstream: `cpu: 0.1` re-sent
    // against a stored `100m` is no spec change and must not bump generation.
    def.defaults?.(next);
    prepareUpdateMeta(next, cur, def.tracksGeneration ?? false, def.statusBumpsGeneration ?? false);
    if (!rvSent) next.metadata.resourceVersion = cur.metadata.resourceVersion; // unconditional update
    def.defaults?.(next);
    const admission = this.attributes(def, "UPDATE", cur.metadata.name ?? "", opts, cur.metadata.namespace, next, cur);
    await this.mutatingAdmission(admission);
    this.validate(def, next, cur);
    await this.admission.validate(admission);
    if (!ssaDone) recordUpdate(cur, next, opts.fieldManager ?? "unknown", this.now(), opts.subresource);
    else if (!next.metadata.managedFields && cur.metadata.managedFields) delete next.metadata.managedFields;
    return next;
  }

  async update(def: ResourceDef, ns: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    if (def.readOnly) throw methodNotAllowed();
    const desired = this.checkBody(body, def);
    opts.checkUnknownFields?.(def, desired);
    if (desired.metadata.name !== undefined && desired.metadata.name !== name)
      throw newBadRequest(`the name of the object (${String(desired.metadata.name)}) does not match the name on the URL (${name})`);
    return this.writeLoop(def, ns, name, opts, (cur) => {
      if (!cur) return undefined;
      return this.prepareUpdate(def, cur, structuredClone(desired), opts, false);
    }, () => {
      if (!def.allowCreateOnUpdate || opts.subresource) return undefined;
      return { body: structuredClone(desired), apply: false };
    });
  }

  async patch(def: ResourceDef, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions = {}): Promise<{ object: KubeObject; created: boolean }> {
    if (def.readOnly) throw methodNotAllowed();
    if (type === "strategic" && def.noStrategicMerge) throw strategicMergeUnsupported();
    let created = false;
    const object = await this.writeLoop(
      def,
      ns,
      name,
      opts,
      (cur) => {
        if (!cur) return undefined;
        const base = structuredClone(cur);
        if (type === "apply") {
          const applied = this.checkBody(structuredClone(patch), def);
          this.checkTypeMeta(def, applied);
          opts.checkUnknownFields?.(def, applied);
          if (applied.metadata.name !== undefined && applied.metadata.name !== name)
            throw newBadRequest(`the name of the object (${String(applied.metadata.name)}) does not match the name on the URL (${name})`);
          const merged = serverSideApply(base, applied, opts.fieldManager ?? "unknown", opts.force ?? false, this.now(), `${qualifiedResource(def)} "${name}"`, strategyFor(def));
          merged.metadata.resourceVersion = applied.metadata.resourceVersion ?? cur.metadata.resourceVersion;
          return this.prepareUpdate(def, cur, merged, opts, true);
        }
        let patched: unknown;
        const target = base;
        if (type === "json") patched = applyJsonPatch(target, patch);
        else if (type === "merge") patched = applyMergePatch(target, patch);
        else patched = applyStrategicMergePatch(target, patch, strategyFor(def));
        const desired = this.checkBody(patched, def);
        opts.checkUnknownFields?.(def, desired);
        if (desired.metadata.resourceVersion === cur.metadata.resourceVersion) delete desired.metadata.resourceVersion;
        return this.prepareUpdate(def, cur, desired, opts, false);
      },
      () => {
        if (type !== "apply" || opts.subresource) return undefined;
        created = true;
        return { body: structuredClone(patch) as KubeObject, apply: true };
      },
    );
    return { object, created };
  }

  /**
   * Runs an update through guaranteedUpdate, with service allocation around it and deletion
   * when an update removes the last finalizer of an object being deleted. `whenMissing` gives
   * the body to create when the object does not exist (PUT create-on-update, apply).
   */
  private async writeLoop(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    opts: WriteOptions,
    tryUpdate: (cur: KubeObject | undefined) => KubeObject | undefined | Promise<KubeObject | undefined>,
    whenMissing: () => { body: KubeObject; apply: boolean } | undefined,
  ): Promise<KubeObject> {
    const key = keyFor(def, ns, name);
    const storage = this.storage(def);
    let undo: (() => Promise<void>) | undefined;
    let commit: (() => Promise<void>) | undefined;
    let result: KubeObject;
    try {
      result = await storage.guaranteedUpdate(
        key,
        async (cur) => {
          await undo?.();
          undo = commit = undefined;
          const next = await tryUpdate(cur);
          if (!next) throw newNotFound({ group: def.group || undefined, resource: def.plural }, name);
          if (def.storageHooks?.beforeUpdate && cur && opts.subresource !== "status") {
            const a = await def.storageHooks.beforeUpdate(next, cur, this.hookEnv(opts.dryRun));
            undo = a.undo;
            commit = a.commit;
          }
          return next;
        },
        { dryRun: opts.dryRun ?? false },
      );
    } catch (e) {
      await undo?.();
      if (isNotFound(e) && (e as StatusError).status.details?.kind === def.plural) {
        const missing = whenMissing();
        if (missing) return this.createForMissing(def, ns, name, missing.body, opts, missing.apply);
      }
      throw e;
    }
    await commit?.();
    const m = result.metadata;
    if (m.deletionTimestamp && (!m.finalizers || m.finalizers.length === 0) && !def.deletionPending?.(result) && m.deletionGracePeriodSeconds === 0 && !opts.dryRun) {
      try {
        result = await storage.delete(key, { preconditions: { resourceVersion: m.resourceVersion! } });
        await this.afterDelete(def, result);
      } catch (e) {
        if (!isNotFound(e)) this.ctx.log.warn({ err: String(e), key }, "delete after last finalizer removal failed");
      }
    }
    return this.typed(def, result);
  }

  private async createForMissing(def: ResourceDef, ns: string | undefined, name: string, body: KubeObject, opts: WriteOptions, apply: boolean): Promise<KubeObject> {
    const obj = this.checkBody(body, def);
    this.checkTypeMeta(def, obj);
    if (obj.metadata.name === undefined) obj.metadata.name = name;
    if (obj.metadata.name !== name) throw newBadRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    this.setNamespace(def, obj, ns);
    if (apply) {
      opts.checkUnknownFields?.(def, obj);
      // Server-side apply create: the applier owns everything it sent.
      const applied = serverSideApply(undefined, obj, opts.fieldManager ?? "unknown", true, this.now(), name);
      prepareCreateMeta(applied, this.ctx.rng, this.ctx.clock.now(), def.tracksGeneration ?? false);
      if (def.hasStatus && !def.keepsStatusOnCreate) applied.status = {};
      return this.createPrepared(def, applied, opts, true, name);
    }
    prepareCreateMeta(obj, this.ctx.rng, this.ctx.clock.now(), def.tracksGeneration ?? false);
    return this.createPrepared(def, obj, opts, false, name);
  }

  /**
   * DELETE as upstream: finalizers (plus orphan/foregroundDeletion from the propagation policy)
   * or a graceful period mark the object (deletionTimestamp) instead of removing it.
   */
  async delete(def: ResourceDef, ns: string | undefined, name: string, o: DeleteOptions): Promise<DeleteResult> {
    if (def.readOnly) throw methodNotAllowed();
    const admission = this.attributes(def, "DELETE", name, o, ns);
    await this.mutatingAdmission(admission);
    await this.admission.validate(admission);
    const key = keyFor(def, ns, name);
    const storage = this.storage(def);
    const cur = (await storage.get(key))!;
    if (o.preconditions?.uid && o.preconditions.uid !== cur.metadata.uid)
      throw newConflict({ group: def.group || undefined, resource: def.plural }, name, `Precondition failed: UID in precondition: ${o.preconditions.uid}, UID in object meta: ${cur.metadata.uid ?? ""}`);
    const grace = def.gracefulDelete ? def.gracefulDelete(cur, o.gracePeriodSeconds) : 0;
    // A graceful deletion under way can only be shortened (kubelet's 0 finishes it); a DELETE
    // that does not shorten it changes nothing, finalizers included (upstream's pendingGraceful).
    const curGrace = cur.metadata.deletionGracePeriodSeconds ?? 0;
    if (cur.metadata.deletionTimestamp && def.gracefulDelete && curGrace > 0 && grace >= curGrace) return { object: this.typed(def, cur), deleted: false };
    const wantFinalizers = this.finalizersOnDelete(def, cur, o);
    if (wantFinalizers.length > 0 || grace > 0 || def.deletionPending?.(cur)) return { object: await this.markDeleting(def, key, cur, grace, o), deleted: false };
    const deleted = await storage.delete(key, {
      preconditions: { resourceVersion: o.preconditions?.resourceVersion ?? cur.metadata.resourceVersion!, ...(o.preconditions?.uid ? { uid: o.preconditions.uid } : {}) },
      dryRun: o.dryRun ?? false,
    });
    if (!o.dryRun) await this.afterDelete(def, deleted);
    return { object: this.typed(def, deleted), deleted: true };
  }

  /** The finalizers an object keeps through a DELETE: the garbage collector's as the options say, plus the kind's own. */
  private finalizersOnDelete(def: ResourceDef, obj: KubeObject, o: DeleteOptions): string[] {
    const fin = deletionFinalizers(def, obj.metadata.finalizers ?? [], o);
    for (const f of def.deleteFinalizers ?? []) if (!fin.includes(f)) fin.push(f);
    return fin;
  }

  private async markDeleting(def: ResourceDef, key: string, cur: KubeObject, grace: number, o: DeleteOptions): Promise<KubeObject> {
    const updated = await this.storage(def).guaranteedUpdate(
      key,
      (c) => {
        if (!c) throw newNotFound({ group: def.group || undefined, resource: def.plural }, cur.metadata.name ?? "");
        const next = structuredClone(c);
        const m = next.metadata;
        const deadline = this.ctx.clock.now() + grace * 1000;
        const existing = m.deletionTimestamp ? Date.parse(m.deletionTimestamp) : Infinity;
        if (!m.deletionTimestamp || deadline < existing) m.deletionTimestamp = timestamp(deadline);
        m.deletionGracePeriodSeconds = grace;
        const fin = this.finalizersOnDelete(def, c, o);
        if (fin.length) m.finalizers = fin;
        else delete m.finalizers;
        def.markDeleting?.(next);
        return next;
      },
      { dryRun: o.dryRun ?? false, ...(o.preconditions ? { preconditions: o.preconditions } : {}) },
    );
    return this.typed(def, updated);
  }

  private async afterDelete(def: ResourceDef, obj: KubeObject): Promise<void> {
    await def.storageHooks?.afterDelete?.(obj, this.hookEnv(false));
  }

  /** DELETE on a collection: every matching object, each as a single delete. */
  async deleteCollection(def: ResourceDef, ns: string | undefined, q: ListQuery, o: DeleteOptions): Promise<KubeObject[]> {
    const { items } = await this.list(def, ns, { ...q, limit: undefined, continue: undefined });
    const out: KubeObject[] = [];
    for (const item of items) {
      try {
        out.push((await this.delete(def, item.metadata.namespace, item.metadata.name!, o)).object);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return out;
  }

  /** pods/binding: assigns a node once (409 when already assigned). */
  async bind(def: ResourceDef, ns: string, name: string, body: unknown, opts: WriteOptions): Promise<void> {
    const b = isObj(body) ? body : {};
    const target = isObj(b.target) ? b.target : {};
    if (typeof target.name !== "string" || !target.name) throw invalidError(def, name, [{ reason: "FieldValueRequired", field: "target.name", message: "Required value" }]);
    // The Binding's uid and resourceVersion are preconditions on the pod, as upstream's setPodHostAndAnnotations:
    // a bind decided for a pod that was deleted and recreated under the same name must not land on the new one.
    const bmeta = isObj(b.metadata) ? b.metadata : {};
    const wantUid = typeof bmeta.uid === "string" && bmeta.uid !== "" ? bmeta.uid : undefined;
    const wantRv = typeof bmeta.resourceVersion === "string" && bmeta.resourceVersion !== "" ? bmeta.resourceVersion : undefined;
    await this.writeLoop(def, ns, name, opts, (cur) => {
      if (!cur) return undefined;
      if (wantUid !== undefined && cur.metadata.uid !== wantUid) throw newConflict({ resource: "pods" }, name, `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${cur.metadata.uid ?? ""}`);
      if (wantRv !== undefined && cur.metadata.resourceVersion !== wantRv) throw newConflict({ resource: "pods" }, name, `Precondition failed: ResourceVersion in precondition: ${wantRv}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ""}`);
      const spec = isObj(cur.spec) ? cur.spec : {};
      if (cur.metadata.deletionTimestamp) throw newConflict({ resource: "pods" }, name, "pod is being deleted, cannot be assigned to a host");
      if (spec.nodeName) throw newConflict({ resource: "pods" }, name, `pod ${name} is already assigned to node "${String(spec.nodeName)}"`);
      const next = structuredClone(cur);
      (next.spec as Obj).nodeName = target.name;
      const status = isObj(next.status) ? next.status : (next.status = {});
      const conds = Array.isArray(status.conditions) ? (status.conditions as Obj[]).filter((c) => c.type !== "PodScheduled") : [];
      conds.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: this.now() });
      status.conditions = conds;
      return next;
    }, () => undefined);
  }

  /** Validating admission of a create through a subresource served outside this store (serviceaccounts/token). */
  async validateSubresourceCreate(def: ResourceDef, ns: string, name: string, subresource: string, object: KubeObject): Promise<void> {
    await this.admission.validate(this.attributes(def, "CREATE", name, { subresource }, ns, object));
  }

  /** pods/eviction: a delete that honours the pod's PodDisruptionBudget (rest/eviction.ts). */
  async evict(def: ResourceDef, ns: string, name: string, body: unknown, opts: { dryRun?: boolean } = {}): Promise<void> {
    const pdbDef = this.ctx.registry.lookup("policy", "v1", "poddisruptionbudgets");
    if (!pdbDef) throw newInternalError("pods/eviction needs policy/v1 poddisruptionbudgets, which is not served");
    // Validating admission sees the eviction as upstream does: a create of pods/eviction carrying the
    // Eviction (NodeRestriction judges it); the pod's delete then passes admission as any delete.
    const eviction = this.attributes(def, "CREATE", name, { subresource: "eviction", ...(opts.dryRun ? { dryRun: true } : {}) }, ns, isObj(body) ? (body as KubeObject) : undefined);
    await this.admission.validate(eviction);
    await new PodEviction(this, def, pdbDef, this.ctx.clock).evict(ns, name, body, opts.dryRun ?? false);
  }
}
