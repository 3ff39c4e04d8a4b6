/**
 * Turns one store change into the watch event a filtered watcher sees, as upstream's etcd3
 * watcher and cacher do: an object that starts matching the predicate arrives as ADDED, one
 * that stops matching as DELETED (carrying its last matching state), a deleted object as
 * DELETED with its last state.
 */
import type { KubeObject, WatchEvent } from "./interface.js";

export type Predicate = (obj: KubeObject) => boolean;

/**
 * @param cur the new state (undefined for a delete)
 * @param prev the previous state (undefined for a create); for a DELETED event its
 *   resourceVersion must already be the revision of the change
 */
export function eventFor(cur: KubeObject | undefined, prev: KubeObject | undefined, predicate: Predicate | undefined): WatchEvent | undefined {
  const passes = (o: KubeObject | undefined) => o !== undefined && (predicate === undefined || safe(predicate, o));
  const curPasses = passes(cur);
  const prevPasses = passes(prev);
  if (cur !== undefined) {
    if (curPasses && prevPasses) return { type: "MODIFIED", object: cur };
    if (curPasses) return { type: "ADDED", object: cur };
    if (prevPasses) return { type: "DELETED", object: prev! };
    return undefined;
  }
  return prevPasses ? { type: "DELETED", object: prev! } : undefined;
}

/** A predicate that throws filters the object out instead of breaking the watch. */
function safe(predicate: Predicate, obj: KubeObject): boolean {
  try {
    return predicate(obj);
  } catch {
    return false;
  }
}

/** A BOOKMARK event: an object holding only the revision (plus kind/apiVersion when known). */
export function bookmarkEvent(revision: number, type: { kind?: string; apiVersion?: string }, initialEventsEnd = false): WatchEvent {
  const object: KubeObject = { metadata: { resourceVersion: String(revision) } };
  if (type.apiVersion) object.apiVersion = type.apiVersion;
  if (type.kind) object.kind = type.kind;
  if (initialEventsEnd) object.metadata.annotations = { "k8s.io/initial-events-end": "true" };
  return { type: "BOOKMARK", object };
}
