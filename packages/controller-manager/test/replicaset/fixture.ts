/** Builders and a sync fixture for the ReplicaSet / ReplicationController unit tests. */
import { FakeClock, Indexer, Resources, StatusError, newStatus, standardIndexers, type KubeObject, type SharedInformer } from "@kubemu/common";
import { UidTrackingExpectations } from "../../src/controller/expectations.js";
import type { PodObject } from "../../src/controller/pod-control.js";
import { ReplicaSetHandlers } from "../../src/controllers/replicaset/controller.js";
import { REPLICA_SET, type ReplicaKind, type ReplicaOwner } from "../../src/controllers/replicaset/kind.js";
import { ReplicaSetSync } from "../../src/controllers/replicaset/sync.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const T0 = Date.parse("2026-01-01T00:00:00Z");
export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function replicaSet(name: string, replicas: number, over: { minReadySeconds?: number; generation?: number; deleting?: boolean; selector?: unknown; templateLabels?: Record<string, string>; status?: ReplicaOwner["status"]; owner?: string } = {}): ReplicaOwner {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      resourceVersion: "1",
      generation: over.generation ?? 1,
      creationTimestamp: iso(T0 - 3_600_000),
      ...(over.deleting ? { deletionTimestamp: iso(T0) } : {}),
      ...(over.owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "dep", uid: over.owner, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: {
      replicas,
      ...(over.minReadySeconds ? { minReadySeconds: over.minReadySeconds } : {}),
      selector: over.selector ?? { matchLabels: { app: name } },
      template: { metadata: { labels: over.templateLabels ?? { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
    },
    ...(over.status ? { status: over.status } : {}),
  };
}

export function replicationController(name: string, replicas: number): ReplicaOwner {
  return {
    apiVersion: "v1",
    kind: "ReplicationController",
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "1", generation: 1 },
    spec: { replicas, selector: { app: name }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } } },
  };
}

export interface PodOpts {
  owner?: ReplicaOwner;
  ownerKind?: string;
  labels?: Record<string, string>;
  node?: string;
  phase?: string;
  readySince?: number;
  notReady?: boolean;
  deleting?: boolean;
  created?: number;
  cost?: string;
  rv?: string;
}

export function pod(name: string, o: PodOpts = {}): PodObject {
  const owner = o.owner;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      resourceVersion: o.rv ?? "1",
      labels: o.labels ?? (owner ? { ...(owner.spec?.template?.metadata?.labels ?? {}) } : {}),
      creationTimestamp: iso(o.created ?? T0 - 600_000),
      ...(o.cost ? { annotations: { "controller.kubernetes.io/pod-deletion-cost": o.cost } } : {}),
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
      ...(owner
        ? { ownerReferences: [{ apiVersion: owner.apiVersion, kind: o.ownerKind ?? owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    spec: { containers: [{ name: "c", image: "nginx" }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? "Running",
      conditions: o.readySince !== undefined ? [{ type: "Ready", status: "True", lastTransitionTime: iso(o.readySince) }] : o.notReady ? [{ type: "Ready", status: "False" }] : [],
    },
  } as PodObject;
}

export function forbidden(message: string): StatusError {
  return new StatusError(newStatus("Forbidden", message));
}

/** A sync over a FakeClient whose listers are refreshed from the fake's store on demand (the informer's part). */
export class Fixture {
  readonly clock = new FakeClock(T0);
  readonly fake: FakeClient;
  readonly recorder = new FakeRecorder();
  readonly expectations = new UidTrackingExpectations(this.clock);
  readonly owners = new Indexer<ReplicaOwner>(standardIndexers as never);
  readonly pods = new Indexer<PodObject>(standardIndexers as never);
  readonly requeues: { key: string; ms: number }[] = [];
  readonly added: string[] = [];
  readonly sync: ReplicaSetSync;
  readonly handlers: ReplicaSetHandlers;

  constructor(owners: ReplicaOwner[], pods: PodObject[] = [], readonly kind: ReplicaKind = REPLICA_SET, opts: { burstReplicas?: number } = {}) {
    this.fake = new FakeClient([
      { resource: kind.resource, objects: owners },
      { resource: Resources.pods, objects: pods },
    ]);
    this.refresh();
    this.sync = new ReplicaSetSync({
      kind,
      client: this.fake,
      owners: this.owners,
      pods: this.pods,
      recorder: this.recorder,
      clock: this.clock,
      expectations: this.expectations,
      enqueueAfter: (key, ms) => this.requeues.push({ key, ms }),
      ...(opts.burstReplicas ? { burstReplicas: opts.burstReplicas } : {}),
    });
    const informer = <T extends KubeObject>(ix: Indexer<T>) => ({ lister: ix }) as unknown as SharedInformer<T>;
    this.handlers = new ReplicaSetHandlers(
      { kind, owners: informer(this.owners), pods: informer(this.pods), expectations: this.expectations },
      { add: (k) => this.added.push(k), addAfter: (key, ms) => this.requeues.push({ key, ms }) },
    );
  }

  /** Makes the listers show what the fake API now holds. */
  refresh(): void {
    for (const [ix, r] of [
      [this.owners, this.kind.resource],
      [this.pods, Resources.pods],
    ] as const) {
      for (const k of ix.keys()) ix.delete(k);
      for (const o of this.fake.objects(r)) (ix as Indexer<KubeObject>).set(o);
    }
  }

  /** Refreshes the listers and tells the handlers about each pod created since the last look. */
  observeCreates(): void {
    const before = new Set(this.pods.keys());
    this.refresh();
    for (const p of this.pods.list()) if (!before.has(`${p.metadata.namespace}/${p.metadata.name}`)) this.handlers.addPod(p);
  }

  podWrites(verb: string) {
    return this.fake.writes().filter((a) => a.resource === "pods" && a.verb === verb);
  }

  statusWrites() {
    return this.fake.writes().filter((a) => a.verb === "update-status");
  }

  lastStatus(): ReplicaOwner["status"] {
    const w = this.statusWrites().at(-1);
    return (w?.object as ReplicaOwner | undefined)?.status;
  }
}
