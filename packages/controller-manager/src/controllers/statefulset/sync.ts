/**
 * The StatefulSet reconcile for one key (upstream's StatefulSetController.sync): read the set,
 * adopt its orphaned revisions, claim its pods (adopting orphans whose name and labels make them
 * its own, releasing those that no longer match), then run the control loop. With minReadySeconds
 * the key comes back once the pods can have become available.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Resources, selectorFromObject, splitKey } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { claimObjects } from "../../controller/controller-ref.js";
import { History, type RevisionObject } from "../../controller/history.js";
import { StatefulSetControl, orphanRevisions } from "./control.js";
import { isMemberOf, replicasOf } from "./identity.js";
import { StatefulPodControl } from "./stateful-pod-control.js";
import { StatusUpdater } from "./status.js";
import type { ClaimObject, PodObject, StatefulSetObject } from "./types.js";

export interface StatefulSetListers {
  sets: Lister<StatefulSetObject>;
  pods: Lister<PodObject>;
  claims: Lister<ClaimObject>;
  revisions: Lister<RevisionObject>;
}

export interface StatefulSetSyncParts {
  client: ControllerClient;
  listers: StatefulSetListers;
  recorder: Recorder;
  clock: Clock;
  logger: Logger;
  /** Queues the key again after ms (the work queue's addAfter). */
  enqueueAfter(key: string, ms: number): void;
}

export class StatefulSetSync {
  private readonly control: StatefulSetControl;

  constructor(private readonly p: StatefulSetSyncParts) {
    const podControl = new StatefulPodControl({ client: p.client, pods: p.listers.pods, claims: p.listers.claims, recorder: p.recorder, clock: p.clock });
    this.control = new StatefulSetControl({
      podControl,
      statusUpdater: new StatusUpdater(p.client, p.listers.sets, p.clock),
      history: new History(p.client, p.listers.revisions, p.clock),
      clock: p.clock,
      logger: p.logger,
    });
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const set = this.p.listers.sets.get(namespace, name);
    if (!set) {
      this.p.logger.info({ key }, "StatefulSet has been deleted");
      return;
    }
    const selector = selectorFromObject(set.spec.selector);
    const revisions = this.control.listRevisions(set, selector);
    const orphans = orphanRevisions(revisions);
    if (orphans.length > 0) {
      await this.recheckOwner(set).catch((e: unknown) => {
        throw new Error(`can't adopt ControllerRevisions: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      });
      await this.control.adoptOrphanRevisions(set, orphans);
    }
    const pods = await claimObjects(this.p.listers.pods.list({ namespace: set.metadata.namespace! }), {
      client: this.p.client,
      owner: set,
      ownerResource: Resources.statefulSets,
      resource: Resources.pods,
      matches: (pod) => selector.matches(pod.metadata.labels) && isMemberOf(set, pod),
    });
    const status = await this.control.updateStatefulSet(set, selector, pods);
    // One more sync once the pods can have been Ready for minReadySeconds (also covers clock skew).
    const minReadySeconds = set.spec.minReadySeconds ?? 0;
    if (minReadySeconds > 0 && status && status.availableReplicas !== replicasOf(set)) this.p.enqueueAfter(key, minReadySeconds * 1000);
  }

  /** A fresh read: the set is still the one cached (same uid) and not being deleted, before adopting. */
  private async recheckOwner(set: StatefulSetObject): Promise<void> {
    const fresh = await this.p.client.get<StatefulSetObject>(Resources.statefulSets, set.metadata.namespace, set.metadata.name!);
    if (fresh.metadata.uid !== set.metadata.uid) throw new Error(`original StatefulSet ${set.metadata.namespace}/${set.metadata.name} is gone: got uid ${fresh.metadata.uid}, wanted ${set.metadata.uid}`);
    if (fresh.metadata.deletionTimestamp) throw new Error(`${set.metadata.namespace}/${set.metadata.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  }
}
