/**
 * ControllerRevisions (upstream's pkg/controller/history): the recorded states of a controller's
 * template, named `<owner>-<hash of the data>` and numbered by `revision`. StatefulSets and
 * DaemonSets keep their rollout history in them; `kubectl rollout history|undo` read them.
 *
 * Upstream hashes and compares a revision's `data` as the raw JSON bytes it was written with
 * (Go's json.Marshal of a map: keys sorted, `<>&` escaped). Objects reach us decoded, so the same
 * bytes are rebuilt with {@link goJson} wherever upstream reads Data.Raw.
 */
import type { KubeObject, LabelSelector, Lister, OwnerReference, ResourceRef } from "@kubemu/common";
import { Resources, isAlreadyExists, isInvalid, isNotFound } from "@kubemu/common";
import type { Clock } from "@kubemu/common";
import type { ControllerClient } from "./client.js";
import { controllerOf, newControllerRef } from "./controller-ref.js";
import { safeEncode } from "./hash.js";
import { DEFAULT_BACKOFF, retryOnConflict } from "./retry.js";

/** The label holding the hash of a revision's data (upstream's ControllerRevisionHashLabel). */
export const CONTROLLER_REVISION_HASH_LABEL = "controller.kubernetes.io/hash";

export interface RevisionObject extends KubeObject {
  apiVersion?: string;
  kind?: string;
  /** The recorded state (for StatefulSets: a strategic merge patch of the template). */
  data?: unknown;
  revision: number;
}

const GO_ESCAPES: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const esc = GO_ESCAPES[ch];
    if (esc) out += esc;
    else if (ch.charCodeAt(0) < 0x20) out += `\\u00${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** JSON as Go's json.Marshal writes a decoded map: object keys sorted, HTML characters escaped. */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (typeof v === "string") return goString(v);
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    // Go sorts map keys by their bytes; JavaScript's default sort compares UTF-16 units, the same for these keys.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${goString(k)}:${goJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** FNV-1 32-bit (Go's hash/fnv New32; FNV-1a is the other one). */
export function fnv32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= b;
  }
  return h >>> 0;
}

/**
 * The revision data that puts a pod template back (upstream's getPatch, the same for StatefulSets
 * and DaemonSets, and what kubectl rebuilds to compare):
 *   {"spec":{"template":{"$patch":"replace", ...the template...}}}
 * keys in Go's order (sorted), and `creationTimestamp: null` in the template's metadata, as Go
 * writes a zero metav1.Time — so the API serves the bytes upstream's json.Marshal would have
 * written and `kubectl rollout undo` recognises a revision equal to the current template.
 */
export function templatePatch(template: unknown): Record<string, unknown> {
  const t = structuredClone(template ?? {}) as Record<string, unknown>;
  const meta = t.metadata;
  t.metadata = { creationTimestamp: null, ...(meta && typeof meta === "object" && !Array.isArray(meta) ? meta : {}) };
  t.$patch = "replace";
  return JSON.parse(goJson({ spec: { template: t } })) as Record<string, unknown>;
}

/** The revision holds exactly this data, compared as upstream compares Data.Raw bytes. */
export function revisionHolds(rev: Pick<RevisionObject, "data">, data: unknown): boolean {
  return revisionDataBytes(rev) === goJson(data);
}

/** The bytes upstream would hold in Data.Raw for this revision (none for empty data). */
export function revisionDataBytes(rev: Pick<RevisionObject, "data">): string {
  return rev.data === undefined || rev.data === null ? "" : goJson(rev.data);
}

/**
 * The hash of a revision's data, salted with `probe` (the collision count) when given, safe-encoded
 * (upstream's HashControllerRevision).
 */
export function hashControllerRevision(rev: Pick<RevisionObject, "data">, probe?: number): string {
  let bytes = Buffer.from(revisionDataBytes(rev), "utf8");
  if (probe !== undefined) bytes = Buffer.concat([bytes, Buffer.from(String(probe), "utf8")]);
  return safeEncode(String(fnv32(bytes)));
}

/** `<prefix>-<hash>`, the prefix cut to 223 characters so the name stays within 253. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/**
 * A revision of `parent` (controlled by it) holding `data`, labelled with the template's labels
 * and the data's hash, named after the parent and the hash (upstream's NewControllerRevision).
 */
export function newControllerRevision(parent: KubeObject, parentResource: ResourceRef, templateLabels: Record<string, string> | undefined, data: unknown, revision: number, collisionCount: number): RevisionObject {
  const rev: RevisionObject = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: { namespace: parent.metadata.namespace, labels: { ...(templateLabels ?? {}) }, ownerReferences: [newControllerRef(parent, parentResource)] },
    data,
    revision,
  };
  const hash = hashControllerRevision(rev, collisionCount);
  rev.metadata.name = controllerRevisionName(parent.metadata.name!, hash);
  rev.metadata.labels![CONTROLLER_REVISION_HASH_LABEL] = hash;
  return rev;
}

/** Ascending by revision; ties by creation time, then name (upstream's SortControllerRevisions). */
export function sortControllerRevisions<T extends RevisionObject>(revisions: readonly T[]): T[] {
  const created = (r: T) => (r.metadata.creationTimestamp ? Date.parse(r.metadata.creationTimestamp) : 0);
  return [...revisions].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision;
    if (created(a) !== created(b)) return created(a) - created(b);
    return a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0;
  });
}

/** The hash label read as a 32-bit integer, as upstream's EqualRevision does (most hashes are not numbers). */
function numericHash(rev: RevisionObject): number | undefined {
  const hs = rev.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  if (hs === undefined || !/^[+-]?\d+$/.test(hs)) return undefined;
  const n = Number(hs);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n >>> 0 : undefined;
}

/** Whether two revisions hold the same data (upstream's EqualRevision). */
export function equalRevision(a: RevisionObject | undefined, b: RevisionObject | undefined): boolean {
  if (!a || !b) return a === b;
  const ha = numericHash(a);
  const hb = numericHash(b);
  if (ha !== undefined && hb !== undefined && ha !== hb) return false;
  return revisionDataBytes(a) === revisionDataBytes(b);
}

/** The revisions equal to needle, in their order. */
export function findEqualRevisions<T extends RevisionObject>(revisions: readonly T[], needle: RevisionObject): T[] {
  return revisions.filter((r) => equalRevision(r, needle));
}

/**
 * A controller's revisions through the API (upstream's realHistory): listed from the informer,
 * written with the client.
 */
export class History {
  constructor(
    private readonly client: ControllerClient,
    private readonly lister: Lister<RevisionObject>,
    private readonly clock: Clock,
  ) {}

  /** Revisions in parent's namespace matching selector that parent controls or nobody does. */
  list(parent: KubeObject, selector: LabelSelector): RevisionObject[] {
    return this.lister.list({ namespace: parent.metadata.namespace!, selector }).filter((r) => {
      const ref = controllerOf(r);
      return !ref || ref.uid === parent.metadata.uid;
    });
  }

  /**
   * Creates the revision under parent; on a name taken by different data the collision count goes
   * up and the name is hashed again. Resolves to the revision (an existing equal one if the name
   * was taken by the same data) and the collision count it ended with.
   */
  async create(parent: KubeObject, revision: RevisionObject, collisionCount: number): Promise<{ revision: RevisionObject; collisionCount: number }> {
    const clone = structuredClone(revision);
    const ns = parent.metadata.namespace!;
    for (;;) {
      clone.metadata.name = controllerRevisionName(parent.metadata.name!, hashControllerRevision(revision, collisionCount));
      try {
        const created = await this.client.create<RevisionObject>(Resources.controllerRevisions, clone, { namespace: ns });
        return { revision: created, collisionCount };
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
      const exists = await this.client.get<RevisionObject>(Resources.controllerRevisions, ns, clone.metadata.name);
      if (revisionDataBytes(exists) === revisionDataBytes(clone)) return { revision: exists, collisionCount };
      collisionCount++;
    }
  }

  /** Sets the revision's number (a rollback renumbers an older revision as the newest). */
  async update(revision: RevisionObject, newRevision: number): Promise<RevisionObject> {
    let clone = structuredClone(revision);
    await retryOnConflict(this.clock, DEFAULT_BACKOFF, async () => {
      if (clone.revision === newRevision) return;
      clone.revision = newRevision;
      try {
        clone = await this.client.update<RevisionObject>(Resources.controllerRevisions, clone);
      } catch (e) {
        const cached = this.lister.get(clone.metadata.namespace, clone.metadata.name!);
        if (cached) clone = structuredClone(cached);
        throw e;
      }
    });
    return clone;
  }

  async delete(revision: RevisionObject): Promise<void> {
    await this.client.delete(Resources.controllerRevisions, revision.metadata.namespace, revision.metadata.name!);
  }

  /** Makes parent the revision's controller (an orphan only), with upstream's strategic patch. */
  async adopt(parent: KubeObject, parentResource: ResourceRef, revision: RevisionObject): Promise<RevisionObject> {
    const owner = controllerOf(revision);
    if (owner) throw new Error(`attempt to adopt revision owned by ${describeRef(owner)}`);
    const patch = { metadata: { ownerReferences: [newControllerRef(parent, parentResource)], uid: revision.metadata.uid } };
    return this.client.patch<RevisionObject>(Resources.controllerRevisions, parent.metadata.namespace, revision.metadata.name!, "strategic", patch);
  }

  /** Removes parent from the revision's owners; a revision gone or not owned is no error. */
  async release(parent: KubeObject, revision: RevisionObject): Promise<RevisionObject | undefined> {
    const patch = { metadata: { ownerReferences: [{ $patch: "delete", uid: parent.metadata.uid }], uid: revision.metadata.uid } };
    try {
      return await this.client.patch<RevisionObject>(Resources.controllerRevisions, revision.metadata.namespace, revision.metadata.name!, "strategic", patch);
    } catch (e) {
      if (isNotFound(e) || isInvalid(e)) return undefined;
      throw e;
    }
  }
}

function describeRef(r: OwnerReference): string {
  return `&OwnerReference{Kind:${r.kind},Name:${r.name},UID:${r.uid},APIVersion:${r.apiVersion},Controller:*${r.controller ?? false},BlockOwnerDeletion:*${r.blockOwnerDeletion ?? false},}`;
}
