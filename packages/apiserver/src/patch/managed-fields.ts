/**
 * metadata.managedFields bookkeeping and server-side apply. Update operations (create, PUT,
 * non-apply PATCH) give the writing manager the fields it changed; Apply makes the applier own
 * exactly the fields in its configuration, refuses to change fields another manager owns with a
 * different value (409 unless force), and removes fields it owned before but no longer applies.
 */
import { newStatus, StatusError, type StatusCause } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import { deepEqual } from "../rest/meta.js";
import { displayPath, fieldSetOf, fromLeaves, leaves, valueAt, type FieldsV1 } from "./fieldset.js";
import { applyStrategicMergePatch, type StrategyOf } from "./strategic.js";

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: FieldsV1;
  subresource?: string;
}

function entriesOf(obj: KubeObject | undefined): ManagedFieldsEntry[] {
  const mf = obj?.metadata.managedFields;
  if (!Array.isArray(mf)) return [];
  return mf.filter((e): e is ManagedFieldsEntry => typeof e === "object" && e !== null && typeof (e as ManagedFieldsEntry).manager === "string");
}

const sameOwner = (e: ManagedFieldsEntry, manager: string, op: string, sub?: string) =>
  e.manager === manager && e.operation === op && (e.subresource ?? "") === (sub ?? "");

function setEntries(obj: KubeObject, entries: ManagedFieldsEntry[]): void {
  const kept = entries.filter((e) => Object.keys(e.fieldsV1).length > 0);
  if (kept.length) obj.metadata.managedFields = kept;
  else delete obj.metadata.managedFields;
}

/** Records an Update by `manager` that turned `old` (undefined on create) into `next`. */
export function recordUpdate(old: KubeObject | undefined, next: KubeObject, manager: string, time: string, subresource?: string): void {
  const includeStatus = subresource === "status";
  const nextLeaves = leaves(fieldSetOf(next, { includeStatus: true }));
  const oldLeaves = new Set(old ? leaves(fieldSetOf(old, { includeStatus: true })) : []);
  const changed = nextLeaves.filter((l) => !oldLeaves.has(l) || !deepEqual(valueAt(old, l), valueAt(next, l)));
  const ownedByUpdate = changed.filter((l) => includeStatus || !l.startsWith("f:status"));
  const present = new Set(nextLeaves);
  const entries = entriesOf(old).map((e) => {
    const mine = new Set(ownedByUpdate);
    return { ...e, fieldsV1: fromLeaves(leaves(e.fieldsV1).filter((l) => present.has(l) && !mine.has(l))) };
  });
  if (ownedByUpdate.length) {
    const i = entries.findIndex((e) => sameOwner(e, manager, "Update", subresource));
    const prior = i === -1 ? [] : leaves(entries[i]!.fieldsV1);
    const entry: ManagedFieldsEntry = {
      manager,
      operation: "Update",
      apiVersion: next.apiVersion ?? "v1",
      time,
      fieldsType: "FieldsV1",
      fieldsV1: fromLeaves(new Set([...prior, ...ownedByUpdate])),
      ...(subresource ? { subresource } : {}),
    };
    if (i === -1) entries.push(entry);
    else entries[i] = entry;
  }
  setEntries(next, entries);
}

function removeAt(obj: unknown, leaf: string): void {
  const segs = leaf.split("\u0000");
  let cur: any = obj;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (s.startsWith("f:")) {
      if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return;
      if (last) delete cur[s.slice(2)];
      else cur = cur[s.slice(2)];
    } else if (s.startsWith("k:")) {
      if (!Array.isArray(cur)) return;
      const key = JSON.parse(s.slice(2)) as Record<string, unknown>;
      const idx = cur.findIndex((el: any) => el && Object.entries(key).every(([k, v]) => el[k] === v));
      if (idx === -1) return;
      if (last) cur.splice(idx, 1);
      else cur = cur[idx];
    } else if (s.startsWith("v:")) {
      if (!Array.isArray(cur)) return;
      const idx = cur.findIndex((el: unknown) => JSON.stringify(el) === s.slice(2));
      if (idx !== -1) cur.splice(idx, 1);
      return;
    }
  }
}

/**
 * Server-side apply of `applied` (a full or partial object) by `manager` onto `live` (undefined
 * = create). Returns the new object with managedFields set. Throws 409 Conflict listing every
 * conflicting field unless force.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  force: boolean,
  time: string,
  qualifiedName: string,
  strategyOf?: StrategyOf,
): KubeObject {
  const appliedLeaves = leaves(fieldSetOf(applied));
  const appliedSet = new Set(appliedLeaves);
  const entries = entriesOf(live);
  const conflicts: { manager: string; leaf: string }[] = [];
  for (const e of entries) {
    if (sameOwner(e, manager, "Apply")) continue;
    for (const l of leaves(e.fieldsV1))
      if (appliedSet.has(l) && !deepEqual(valueAt(live, l), valueAt(applied, l))) conflicts.push({ manager: e.manager, leaf: l });
  }
  if (conflicts.length && !force) {
    const causes: StatusCause[] = conflicts.map((c) => ({
      reason: "FieldManagerConflict",
      message: `conflict with "${c.manager}"`,
      field: displayPath(c.leaf),
    }));
    const list = conflicts.map((c) => `- ${displayPath(c.leaf)}`).join("\n");
    const byMgr = [...new Set(conflicts.map((c) => c.manager))].map((m) => `conflict with "${m}"`).join(", ");
    throw new StatusError(
      newStatus("Conflict", `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? "s" : ""}: ${byMgr}:\n${list}`, { causes, name: qualifiedName }),
    );
  }
  const { managedFields: _m, ...appliedMeta } = applied.metadata;
  const base: KubeObject = live ? structuredClone(live) : { metadata: {} };
  const merged = applyStrategicMergePatch(base, { ...applied, metadata: appliedMeta }, strategyOf) as KubeObject;
  const mine = entries.find((e) => sameOwner(e, manager, "Apply"));
  const othersOwn = new Set(entries.filter((e) => !sameOwner(e, manager, "Apply")).flatMap((e) => leaves(e.fieldsV1)));
  for (const l of mine ? leaves(mine.fieldsV1) : []) if (!appliedSet.has(l) && !othersOwn.has(l)) removeAt(merged, l);
  const next = entries
    .filter((e) => !sameOwner(e, manager, "Apply"))
    .map((e) => (force ? { ...e, fieldsV1: fromLeaves(leaves(e.fieldsV1).filter((l) => !conflicts.some((c) => c.leaf === l && c.manager === e.manager))) } : e));
  next.push({ manager, operation: "Apply", apiVersion: applied.apiVersion ?? "v1", time, fieldsType: "FieldsV1", fieldsV1: fromLeaves(appliedLeaves) });
  setEntries(merged, next);
  return merged;
}
