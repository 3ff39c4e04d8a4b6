/**
 * The node's side of the API: register the Node (create, or reconcile the one already there),
 * post its status when it changes and at least every report period, and renew its Lease in
 * kube-node-lease every renew interval (upstream's kubelet_node_status.go and nodelease).
 */
import type { ApiClient, Clock, EventRecorder, KubeObject, Logger, SharedInformer } from "@kubemu/common";
import { isAlreadyExists, isConflict, isNotFound, Resources } from "@kubemu/common";
import { rfc3339, rfc3339Micro } from "../util/go-duration.js";
import { conditionsChanged, nodeConditions, type NodeCondition, type NodeObservation } from "./conditions.js";
import type { HostInfo } from "./host-info.js";
import { initialNode, ownedStatus, reconcileExisting, type NodeCapacity, type NodeIdentity } from "./node-object.js";

export interface NodeAgentOptions {
  client: ApiClient;
  recorder: EventRecorder;
  /** An informer on this Node only (fieldSelector metadata.name). */
  nodeInformer: SharedInformer<KubeObject>;
  identity: NodeIdentity;
  host: HostInfo;
  capacity: () => NodeCapacity;
  observe: () => NodeObservation;
  /** Pod images present on the node, for status.images. */
  images: () => { names: string[]; sizeBytes: number }[];
  clock: Clock;
  logger: Logger;
  leaseRenewMs: number;
  leaseDurationSeconds: number;
  statusUpdateMs: number;
  statusReportMs: number;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 7000;

export class NodeAgent {
  private nodeUid: string | undefined;
  private lastPost: { at: number; body: string } | undefined;
  private registeredOnce = false;

  constructor(private readonly o: NodeAgentOptions) {}

  /** A reference to the Node for events: upstream uses the node's name as its UID. */
  get nodeRef(): KubeObject {
    return { kind: "Node", metadata: { name: this.o.identity.nodeName, uid: this.o.identity.nodeName } } as KubeObject;
  }

  get registered(): boolean {
    return this.registeredOnce;
  }

  /** Registers, then keeps status and lease fresh until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await this.register(signal);
    if (signal.aborted) return;
    this.o.recorder.event(this.nodeRef, "Normal", "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods");
    await Promise.all([this.statusLoop(signal), this.leaseLoop(signal)]);
  }

  private async register(signal: AbortSignal): Promise<void> {
    const { client, identity, logger: log, clock } = this.o;
    let delay = RETRY_MIN_MS;
    while (!signal.aborted) {
      const wanted = initialNode(identity, this.o.host, this.o.capacity());
      try {
        const created = await client.create(Resources.nodes, wanted as KubeObject);
        this.nodeUid = created.metadata.uid;
        log.info({ node: identity.nodeName }, "Successfully registered node");
        this.registeredOnce = true;
        return;
      } catch (e) {
        if (!isAlreadyExists(e)) {
          log.warn({ err: String(e), node: identity.nodeName }, "Unable to register node with API server");
          await clock.sleep(delay, signal).catch(() => undefined);
          delay = Math.min(delay * 2, RETRY_MAX_MS);
          continue;
        }
      }
      try {
        const existing = await client.get(Resources.nodes, undefined, identity.nodeName);
        this.nodeUid = existing.metadata.uid;
        const patch = reconcileExisting(existing as never, wanted);
        if (patch) await client.patch(Resources.nodes, undefined, identity.nodeName, "merge", patch);
        log.info({ node: identity.nodeName }, "Node was previously registered");
        this.registeredOnce = true;
        return;
      } catch (e) {
        log.warn({ err: String(e), node: identity.nodeName }, "Unable to reconcile the registered node");
        await clock.sleep(delay, signal).catch(() => undefined);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  private currentConditions(): NodeCondition[] | undefined {
    const node = this.o.nodeInformer.lister.get(undefined, this.o.identity.nodeName);
    return (node?.status as { conditions?: NodeCondition[] } | undefined)?.conditions;
  }

  /** One status round: computes, and posts when changed or due. */
  async syncStatus(force = false): Promise<void> {
    const { clock, identity } = this.o;
    const now = clock.now();
    const previous = this.currentConditions();
    const { conditions, changes } = nodeConditions(previous, this.o.observe(), rfc3339(now));
    const status = { ...ownedStatus(identity, this.o.host, this.o.capacity()), images: this.o.images() };
    // What decides "changed": everything but heartbeat times.
    const body = JSON.stringify({ status, conditions: conditions.map((c) => ({ ...c, lastHeartbeatTime: "" })) });
    const due = !this.lastPost || now - this.lastPost.at >= this.o.statusReportMs;
    if (!force && !due && body === this.lastPost?.body && !conditionsChanged(previous, conditions)) return;
    await this.o.client.patch(Resources.nodes, undefined, identity.nodeName, "strategic", { status: { ...status, conditions } }, { subresource: "status" });
    this.lastPost = { at: now, body };
    for (const c of changes) this.o.recorder.event(this.nodeRef, c.type, c.event, `Node ${identity.nodeName} status is now: ${c.event}`);
  }

  private async statusLoop(signal: AbortSignal): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (!signal.aborted) {
      try {
        await this.syncStatus();
        delay = RETRY_MIN_MS;
        await this.o.clock.sleep(this.o.statusUpdateMs, signal).catch(() => undefined);
      } catch (e) {
        this.o.logger.warn({ err: String(e) }, "Error updating node status, will retry");
        await this.o.clock.sleep(delay, signal).catch(() => undefined);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  private leaseObject(existing: KubeObject | undefined): KubeObject {
    const { identity } = this.o;
    const spec = { ...((existing?.spec as Record<string, unknown> | undefined) ?? {}), holderIdentity: identity.nodeName, leaseDurationSeconds: this.o.leaseDurationSeconds, renewTime: rfc3339Micro(this.o.clock.now()) };
    const metadata = { ...(existing?.metadata ?? {}), name: identity.nodeName, namespace: "kube-node-lease" };
    if (this.nodeUid && !(metadata.ownerReferences ?? []).some((r) => r.uid === this.nodeUid)) {
      metadata.ownerReferences = [{ apiVersion: "v1", kind: "Node", name: identity.nodeName, uid: this.nodeUid }];
    }
    return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata, spec };
  }

  private async leaseLoop(signal: AbortSignal): Promise<void> {
    const { client, identity, clock, logger: log } = this.o;
    let lease: KubeObject | undefined;
    let delay = RETRY_MIN_MS;
    while (!signal.aborted) {
      try {
        if (!lease) {
          try {
            lease = await client.get(Resources.leases, "kube-node-lease", identity.nodeName);
          } catch (e) {
            if (!isNotFound(e)) throw e;
            lease = await client.create(Resources.leases, this.leaseObject(undefined));
          }
        }
        lease = await client.update(Resources.leases, this.leaseObject(lease));
        delay = RETRY_MIN_MS;
        await clock.sleep(this.o.leaseRenewMs, signal).catch(() => undefined);
      } catch (e) {
        // A conflict means someone else wrote it (or our answer was lost): read it again.
        lease = undefined;
        if (!isConflict(e)) log.warn({ err: String(e) }, "failed to update lease, will retry");
        await clock.sleep(delay, signal).catch(() => undefined);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }
}
