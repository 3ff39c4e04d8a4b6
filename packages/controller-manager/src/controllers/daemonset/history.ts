/**
 * A DaemonSet's ControllerRevisions (upstream's update.go: constructHistory, snapshot,
 * dedupCurHistories, cleanupHistory). Each distinct pod template gets one revision named
 * `<ds>-<hash>`, labelled `controller-revision-hash=<hash>`, whose data is the strategic merge
 * patch that restores it (`kubectl rollout undo ds` applies it); its number grows each time the
 * template changes or returns. The current revision's hash labels every new pod.
 */
import { Resources, isAlreadyExists, selectorFromObject } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { claimObjects, newControllerRef } from "../../controller/controller-ref.js";
import { computeHash } from "../../controller/hash.js";
import { revisionHolds, sortControllerRevisions, templatePatch, type RevisionObject } from "../../controller/history.js";
import type { PodObject } from "../../controller/pod-control.js";
import { REVISION_HASH_LABEL, type DaemonSetObject } from "./daemon-pod.js";

export type { RevisionObject };

export interface HistoryDeps {
  client: ControllerClient;
  /** Every ControllerRevision of the DaemonSet's namespace (from the informer). */
  revisionsInNamespace(namespace: string): RevisionObject[];
  /** The DaemonSet's claimed pods, deleted terminal ones included (for relabelling and live hashes). */
  daemonPods(ds: DaemonSetObject): Promise<PodObject[]>;
}

/** The revision holds the DaemonSet's current template (upstream's Match). */
export function matchesRevision(ds: DaemonSetObject, rev: RevisionObject): boolean {
  return revisionHolds(rev, templatePatch(ds.spec?.template));
}

function maxRevision(revs: readonly RevisionObject[]): number {
  return revs.reduce((m, r) => Math.max(m, r.revision ?? 0), 0);
}

/** The revisions the DaemonSet controls, after adopting matching orphans and releasing ones that stopped matching. */
async function controlledHistories(ds: DaemonSetObject, d: HistoryDeps): Promise<RevisionObject[]> {
  const selector = selectorFromObject(ds.spec?.selector);
  return claimObjects(d.revisionsInNamespace(ds.metadata.namespace!), {
    client: d.client,
    owner: ds,
    ownerResource: Resources.daemonSets,
    resource: Resources.controllerRevisions,
    matches: (r) => selector.matches(r.metadata.labels),
  });
}

/**
 * The current revision (created if the template has none) and the others (upstream's
 * constructHistory). Revisions missing the hash label get their name as the label; duplicates of
 * the current template are merged into the newest one.
 */
export async function constructHistory(ds: DaemonSetObject, d: HistoryDeps): Promise<{ cur: RevisionObject; old: RevisionObject[] }> {
  const current: RevisionObject[] = [];
  const old: RevisionObject[] = [];
  for (let rev of await controlledHistories(ds, d)) {
    if (rev.metadata.labels?.[REVISION_HASH_LABEL] === undefined) {
      // The name, not a recomputed hash, so a hash collision cannot mislabel it.
      const toUpdate = structuredClone(rev);
      toUpdate.metadata.labels = { ...(toUpdate.metadata.labels ?? {}), [REVISION_HASH_LABEL]: toUpdate.metadata.name! };
      rev = await d.client.update<RevisionObject>(Resources.controllerRevisions, toUpdate);
    }
    (matchesRevision(ds, rev) ? current : old).push(rev);
  }
  const nextRevision = maxRevision(old) + 1;
  if (current.length === 0) return { cur: await snapshot(ds, nextRevision, d), old };
  const cur = await dedupCurrent(ds, current, d);
  if ((cur.revision ?? 0) < nextRevision) {
    const toUpdate = structuredClone(cur);
    toUpdate.revision = nextRevision;
    await d.client.update(Resources.controllerRevisions, toUpdate);
  }
  return { cur, old };
}

/** Keeps the newest of several revisions of the current template: pods are relabelled to it, the rest deleted. */
async function dedupCurrent(ds: DaemonSetObject, current: RevisionObject[], d: HistoryDeps): Promise<RevisionObject> {
  if (current.length === 1) return current[0]!;
  let keep = current[0]!;
  for (const r of current) if ((r.revision ?? 0) >= (keep.revision ?? 0)) keep = r;
  const keepHash = keep.metadata.labels?.[REVISION_HASH_LABEL];
  for (const pod of await d.daemonPods(ds)) {
    if (pod.metadata.labels?.[REVISION_HASH_LABEL] === keepHash) continue;
    await d.client.patch(Resources.pods, ds.metadata.namespace, pod.metadata.name!, "merge", { metadata: { labels: { [REVISION_HASH_LABEL]: keepHash } } });
  }
  for (const r of current) {
    if (r.metadata.name !== keep.metadata.name) await d.client.delete(Resources.controllerRevisions, ds.metadata.namespace, r.metadata.name!);
  }
  return keep;
}

/**
 * Creates the revision of the current template (upstream's snapshot). A same-named revision
 * holding another template is a hash collision: status.collisionCount is raised and the sync
 * fails, so the retry hashes with the new count.
 */
async function snapshot(ds: DaemonSetObject, revision: number, d: HistoryDeps): Promise<RevisionObject> {
  const hash = computeHash(ds.spec?.template, ds.status?.collisionCount ?? undefined);
  const name = `${ds.metadata.name}-${hash}`;
  const rev: RevisionObject = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name,
      namespace: ds.metadata.namespace,
      labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
      ...(ds.metadata.annotations ? { annotations: { ...ds.metadata.annotations } } : {}),
      ownerReferences: [newControllerRef(ds, Resources.daemonSets)],
    },
    data: templatePatch(ds.spec?.template),
    revision,
  };
  try {
    return await d.client.create<RevisionObject>(Resources.controllerRevisions, rev, { namespace: ds.metadata.namespace! });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const existing = await d.client.get<RevisionObject>(Resources.controllerRevisions, ds.metadata.namespace, name);
    if (matchesRevision(ds, existing)) return existing;
    const fresh = await d.client.get<DaemonSetObject>(Resources.daemonSets, ds.metadata.namespace, ds.metadata.name!);
    const seen = ds.status?.collisionCount ?? undefined;
    const now = fresh.status?.collisionCount ?? undefined;
    if (seen !== now) throw new Error(`found a stale collision count (${seen}, expected ${now}) of DaemonSet "${ds.metadata.name}" while processing; will retry until it is updated`);
    await d.client.updateStatus<DaemonSetObject>(Resources.daemonSets, { ...fresh, status: { ...(fresh.status ?? {}), collisionCount: (now ?? 0) + 1 } } as DaemonSetObject);
    throw e;
  }
}

/**
 * Deletes the oldest revisions beyond spec.revisionHistoryLimit, never one a live pod still
 * carries (upstream's cleanupHistory).
 */
export async function cleanupHistory(ds: DaemonSetObject, old: RevisionObject[], d: HistoryDeps): Promise<void> {
  const keep = ds.spec?.revisionHistoryLimit ?? 10;
  let toKill = old.length - keep;
  if (toKill <= 0) return;
  const liveHashes = new Set<string>();
  for (const pod of await d.daemonPods(ds)) {
    const h = pod.metadata.labels?.[REVISION_HASH_LABEL];
    if (h) liveHashes.add(h);
  }
  for (const rev of sortControllerRevisions(old)) {
    if (toKill <= 0) break;
    if (liveHashes.has(rev.metadata.labels?.[REVISION_HASH_LABEL] ?? "")) continue;
    await d.client.delete(Resources.controllerRevisions, ds.metadata.namespace, rev.metadata.name!);
    toKill--;
  }
}
