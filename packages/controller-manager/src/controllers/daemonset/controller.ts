/**
 * The DaemonSet controller's wiring (upstream's NewDaemonSetsController handlers): DaemonSet,
 * ControllerRevision, Pod and Node events become DaemonSet keys; pod events also settle the
 * expectations of the DaemonSet that created them.
 */
import type { DeletedFinalStateUnknown, KubeObject, OwnerReference, WorkQueue } from "@kubemu/common";
import { Indexes, Resources, deletedObject, objectKey, selectorFromObject } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { controllerOf } from "../../controller/controller-ref.js";
import { ControllerExpectations } from "../../controller/expectations.js";
import type { PodObject } from "../../controller/pod-control.js";
import { isPodReady } from "../../controller/pod-util.js";
import type { QueueController } from "../../controller/run.js";
import { Backoff } from "./backoff.js";
import type { DaemonSetObject } from "./daemon-pod.js";
import { nodeShouldRunDaemonPod } from "./node-fit.js";
import { DaemonSetSync, type NodeObject, type RevisionObject } from "./sync.js";

export const CONTROLLER_NAME = "daemonset-controller";
const WORKERS = 2;
/** The failed-pod backoff as kube-controller-manager builds it: 1 s doubling to 15 min. */
const FAILED_POD_BACKOFF_INITIAL_MS = 1000;
const FAILED_POD_BACKOFF_MAX_MS = 15 * 60_000;
/** How often stale backoff entries are dropped (upstream's BackoffGCInterval). */
const BACKOFF_GC_INTERVAL_MS = 60_000;

export function daemonSetInformers(ctx: ControllerContext) {
  return {
    daemonSets: ctx.informers.informerFor<DaemonSetObject>(Resources.daemonSets),
    revisions: ctx.informers.informerFor<RevisionObject>(Resources.controllerRevisions),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    nodes: ctx.informers.informerFor<NodeObject>(Resources.nodes),
  };
}

type Tomb<T extends KubeObject> = T | DeletedFinalStateUnknown<T>;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export class DaemonSetController implements QueueController {
  readonly name = "daemonset";
  readonly workers = WORKERS;
  private queue?: WorkQueue<string>;
  private readonly inf: ReturnType<typeof daemonSetInformers>;
  private readonly expectations: ControllerExpectations;
  private readonly backoff: Backoff;
  private readonly syncer: DaemonSetSync;

  constructor(private readonly ctx: ControllerContext) {
    this.inf = daemonSetInformers(ctx);
    this.expectations = new ControllerExpectations(ctx.clock);
    this.backoff = new Backoff(ctx.clock, FAILED_POD_BACKOFF_INITIAL_MS, FAILED_POD_BACKOFF_MAX_MS);
    this.syncer = new DaemonSetSync({
      client: ctx.client,
      listers: { daemonSets: this.inf.daemonSets.lister, pods: this.inf.pods.lister, nodes: this.inf.nodes.lister, revisions: this.inf.revisions.lister },
      recorder: ctx.recorder(CONTROLLER_NAME),
      clock: ctx.clock,
      expectations: this.expectations,
      failedPodsBackoff: this.backoff,
      enqueueAfter: (key, ms) => this.queue?.addAfter(key, ms),
      logger: ctx.logger.child({ controller: CONTROLLER_NAME }),
    });
  }

  reconcile(key: string): Promise<void> {
    return this.syncer.sync(key);
  }

  register(queue: WorkQueue<string>): { remove(): void }[] {
    this.queue = queue;
    return [
      this.inf.daemonSets.addEventHandler({
        onAdd: (ds) => this.enqueue(ds),
        onUpdate: (old, cur) => {
          // A delete and re-create seen as one update: forget the old one's expectations.
          if (old.metadata.uid !== cur.metadata.uid) this.deleteDaemonSet(old);
          this.enqueue(cur);
        },
        onDelete: (o) => this.deleteDaemonSet(deletedObject(o)),
      }),
      this.inf.revisions.addEventHandler({
        onAdd: (r) => this.addRevision(r),
        onUpdate: (old, cur) => this.updateOwned(old, cur),
        onDelete: (o) => this.deleteRevision(o),
      }),
      this.inf.pods.addEventHandler({
        onAdd: (p) => this.addPod(p),
        onUpdate: (old, cur) => this.updatePod(old, cur),
        onDelete: (o) => this.deletePod(deletedObject(o)),
      }),
      this.inf.nodes.addEventHandler({
        onAdd: (n) => this.addNode(n),
        onUpdate: (old, cur) => this.updateNode(old, cur),
        onDelete: (o) => this.deleteNode(deletedObject(o)),
      }),
    ];
  }

  /** Drops backoff entries of nodes quiet for a while, until the signal. */
  async background(_queue: WorkQueue<string>, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.ctx.clock.sleep(BACKOFF_GC_INTERVAL_MS, signal).catch(() => undefined);
      if (!signal.aborted) this.backoff.gc();
    }
  }

  private enqueue(ds: DaemonSetObject): void {
    this.queue?.add(objectKey(ds));
  }

  private deleteDaemonSet(ds: DaemonSetObject): void {
    // A DaemonSet re-created under the same name starts with clean expectations.
    this.expectations.delete(objectKey(ds));
    this.enqueue(ds);
  }

  /** The DaemonSet a controller ref names, if it still is that one (same uid). */
  private resolve(namespace: string | undefined, ref: OwnerReference): DaemonSetObject | undefined {
    if (ref.kind !== "DaemonSet") return undefined;
    const ds = this.inf.daemonSets.lister.get(namespace, ref.name);
    return ds && ds.metadata.uid === ref.uid ? ds : undefined;
  }

  /** DaemonSets in obj's namespace whose selector matches its labels (upstream's GetPodDaemonSets / GetHistoryDaemonSets). */
  private selecting(obj: KubeObject): DaemonSetObject[] {
    const matches = this.inf.daemonSets.lister.list({ namespace: obj.metadata.namespace! }).filter((ds) => {
      const sel = selectorFromObject(ds.spec?.selector);
      return sel.requirements.length > 0 && sel.matches(obj.metadata.labels);
    });
    if (matches.length > 1) this.ctx.logger.warn({ object: objectKey(obj), labels: obj.metadata.labels }, "user error! more than one daemon is selecting pods with labels");
    return matches;
  }

  private addRevision(r: RevisionObject): void {
    if (r.metadata.deletionTimestamp) return this.deleteRevision(r);
    // An owned revision needs nothing (upstream only logs it); an orphan may be adopted.
    if (controllerOf(r)) return;
    for (const ds of this.selecting(r)) this.enqueue(ds);
  }

  private deleteRevision(o: Tomb<RevisionObject>): void {
    const r = deletedObject(o);
    const ref = controllerOf(r);
    const ds = ref && this.resolve(r.metadata.namespace, ref);
    if (ds) this.enqueue(ds);
  }

  /**
   * An update of a revision or pod: the old controller hears of a changed controller ref, the
   * current one of any change; an orphan's selecting DaemonSets when its labels or ref changed.
   */
  private updateOwned<T extends KubeObject>(old: T, cur: T, onOwned?: (ds: DaemonSetObject) => void): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = !sameJson(curRef, oldRef);
    if (refChanged && oldRef) {
      const ds = this.resolve(old.metadata.namespace, oldRef);
      if (ds) this.enqueue(ds);
    }
    if (curRef) {
      const ds = this.resolve(cur.metadata.namespace, curRef);
      if (!ds) return;
      this.enqueue(ds);
      onOwned?.(ds);
      return;
    }
    if (refChanged || !sameJson(old.metadata.labels, cur.metadata.labels)) for (const ds of this.selecting(cur)) this.enqueue(ds);
  }

  private addPod(pod: PodObject): void {
    // Already terminating (seen on a restart): not a creation we wait for.
    if (pod.metadata.deletionTimestamp) return this.deletePod(pod);
    const ref = controllerOf(pod);
    if (ref) {
      const ds = this.resolve(pod.metadata.namespace, ref);
      if (!ds) return;
      this.expectations.creationObserved(objectKey(ds));
      this.enqueue(ds);
      return;
    }
    // An orphan: DaemonSets that select it may adopt it. No expectation waits for orphans.
    for (const ds of this.selecting(pod)) this.enqueue(ds);
  }

  private updatePod(old: PodObject, cur: PodObject): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    // A graceful delete starts: replace the pod now rather than when the kubelet removes it.
    if (cur.metadata.deletionTimestamp) return this.deletePod(cur);
    this.updateOwned(old, cur, (ds) => {
      const minReady = ds.spec?.minReadySeconds ?? 0;
      // One more second against millisecond skew, as upstream.
      if (minReady > 0 && !isPodReady(old) && isPodReady(cur)) this.queue?.addAfter(objectKey(ds), minReady * 1000 + 1000);
    });
  }

  private deletePod(pod: PodObject): void {
    const ref = controllerOf(pod);
    const ds = ref && this.resolve(pod.metadata.namespace, ref);
    if (!ds) return;
    this.expectations.deletionObserved(objectKey(ds));
    this.enqueue(ds);
  }

  private addNode(node: NodeObject): void {
    for (const ds of this.inf.daemonSets.lister.list()) if (nodeShouldRunDaemonPod(node, ds).shouldRun) this.enqueue(ds);
  }

  /**
   * Only labels and taints decide where daemons run. A DaemonSet hears of a node when its pod
   * there should now be created or deleted, or its misscheduled count may have changed
   * (upstream's updateNode + syncNodeUpdate).
   */
  private updateNode(old: NodeObject, cur: NodeObject): void {
    if (sameJson(old.metadata.labels, cur.metadata.labels) && sameJson(old.spec?.taints, cur.spec?.taints)) return;
    const scheduledFor = this.daemonSetsWithPodsOn(cur.metadata.name!);
    for (const ds of this.inf.daemonSets.lister.list()) {
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(cur, ds);
      const scheduled = scheduledFor.has(objectKey(ds));
      if ((shouldRun && !scheduled) || (!shouldContinueRunning && scheduled) || (scheduled && (ds.status?.numberMisscheduled ?? 0) > 0)) this.enqueue(ds);
    }
  }

  /**
   * Not in upstream (it leaves a deleted node's pods to the pod GC): a DaemonSet that counted
   * the node syncs again, so its status drops it and its unbound pods for it go at once.
   */
  private deleteNode(node: NodeObject): void {
    const scheduledFor = this.daemonSetsWithPodsOn(node.metadata.name!);
    for (const ds of this.inf.daemonSets.lister.list()) if (scheduledFor.has(objectKey(ds)) || nodeShouldRunDaemonPod(node, ds).shouldRun) this.enqueue(ds);
  }

  /** Keys of the DaemonSets with a pod bound to the node. */
  private daemonSetsWithPodsOn(nodeName: string): Set<string> {
    const keys = new Set<string>();
    for (const pod of this.inf.pods.lister.byIndex(Indexes.nodeName, nodeName)) {
      const ref = controllerOf(pod);
      if (ref?.kind === "DaemonSet") keys.add(`${pod.metadata.namespace}/${ref.name}`);
    }
    return keys;
  }
}
