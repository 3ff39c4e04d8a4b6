/**
 * Drives the graph builder and the collector's workers over a FakeClient with API-server deletion
 * semantics: observe() plays the informers (diffs each resource's stored objects against what was
 * last seen and feeds add/update/delete events to the builder), settle() alternates observing and
 * working both queues until nothing is left to do.
 */
import type { KubeObject, OwnerReference, ResourceRef } from "@kubemu/common";
import { Resources, apiVersionOf, realClock, silentLogger } from "@kubemu/common";
import { ServedResources, resourceKey } from "../../src/controller/served-resources.js";
import { GarbageCollector, type WorkResult } from "../../src/controllers/garbagecollector/garbage-collector.js";
import { GraphBuilder } from "../../src/controllers/garbagecollector/graph-builder.js";
import { ReferenceCache } from "../../src/controllers/garbagecollector/reference-cache.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const widgets: ResourceRef = Object.freeze({ group: "example.com", version: "v1", resource: "widgets", kind: "Widget", namespaced: true });

export const widgetCrd: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com", uid: "crd-widgets" },
  spec: { group: "example.com", scope: "Namespaced", names: { plural: "widgets", kind: "Widget" }, versions: [{ name: "v1", served: true, storage: true }] },
  status: { acceptedNames: { plural: "widgets", kind: "Widget" }, conditions: [{ type: "Established", status: "True" }] },
} as KubeObject;

/** An ownerReference to `owner` of resource r (blockOwnerDeletion and controller as given). */
export function ownerRef(r: ResourceRef, owner: KubeObject, opts: { block?: boolean; controller?: boolean } = {}): OwnerReference {
  return { apiVersion: apiVersionOf(r), kind: r.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, ...(opts.controller ? { controller: true } : {}), ...(opts.block ? { blockOwnerDeletion: true } : {}) };
}

export function obj(r: ResourceRef, name: string, opts: { namespace?: string; uid?: string; owners?: OwnerReference[]; finalizers?: string[] } = {}): KubeObject {
  return {
    apiVersion: apiVersionOf(r),
    kind: r.kind,
    metadata: {
      name,
      uid: opts.uid ?? `uid-${name}`,
      resourceVersion: "1",
      ...(r.namespaced ? { namespace: opts.namespace ?? "default" } : {}),
      ...(opts.owners ? { ownerReferences: opts.owners } : {}),
      ...(opts.finalizers ? { finalizers: opts.finalizers } : {}),
    },
  } as KubeObject;
}

export class GcHarness {
  readonly fake: FakeClient;
  readonly recorder = new FakeRecorder();
  readonly absentOwners = new ReferenceCache();
  readonly builder: GraphBuilder;
  readonly collector: GarbageCollector;
  readonly deleteQueue = new Set<string>();
  readonly orphanQueue = new Set<string>();
  /** Work results, in order ("delete uid-x → requeue"). */
  readonly log: string[] = [];
  private readonly seen = new Map<string, Map<string, KubeObject>>();
  readonly served: ServedResources;

  constructor(
    objects: { resource: ResourceRef; objects: KubeObject[] }[],
    readonly resources: ResourceRef[] = [Resources.pods, Resources.replicaSets, Resources.deployments, Resources.configMaps, Resources.namespaces, Resources.nodes, Resources.clusterRoles],
    crds: KubeObject[] = [],
  ) {
    this.fake = new FakeClient(objects, { lifecycle: true });
    this.served = ServedResources.from(crds);
    this.builder = new GraphBuilder({
      attemptToDelete: (uid) => this.deleteQueue.add(uid),
      attemptToOrphan: (uid) => this.orphanQueue.add(uid),
      absentOwners: this.absentOwners,
      recorder: this.recorder,
      logger: silentLogger,
    });
    this.collector = new GarbageCollector({
      client: this.fake,
      builder: this.builder,
      resources: () => this.served,
      cached: () => undefined,
      absentOwners: this.absentOwners,
      attemptToDelete: (uid) => this.deleteQueue.add(uid),
      clock: realClock,
      logger: silentLogger,
    });
  }

  /** Plays the informers: every change in the fake's store since the last call becomes an event. */
  observe(): void {
    for (const r of this.resources) {
      const key = resourceKey(r);
      const before = this.seen.get(key) ?? new Map<string, KubeObject>();
      const now = new Map(this.fake.objects(r).map((o) => [`${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]));
      const apiVersion = apiVersionOf(r);
      for (const [k, old] of before) {
        const cur = now.get(k);
        if (!cur || cur.metadata.uid !== old.metadata.uid) this.builder.process({ type: "delete", obj: old, apiVersion, kind: r.kind });
      }
      for (const [k, cur] of now) {
        const old = before.get(k);
        if (!old || old.metadata.uid !== cur.metadata.uid) this.builder.process({ type: "add", obj: cur, apiVersion, kind: r.kind });
        else if (old.metadata.resourceVersion !== cur.metadata.resourceVersion) this.builder.process({ type: "update", obj: cur, oldObj: old, apiVersion, kind: r.kind });
      }
      this.seen.set(key, now);
    }
  }

  /** Observes and works both queues until both are empty (requeued items wait for the next round), at most `rounds` times. */
  async settle(rounds = 30): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      this.observe();
      if (this.deleteQueue.size === 0 && this.orphanQueue.size === 0) return;
      const requeue: [Set<string>, string][] = [];
      const run = async (queue: Set<string>, what: string, work: (uid: string) => Promise<WorkResult>) => {
        const uids = [...queue];
        queue.clear();
        for (const uid of uids) {
          const result = await work(uid);
          this.log.push(`${what} ${uid} → ${result}`);
          if (result === "requeue") requeue.push([queue, uid]);
        }
      };
      await run(this.orphanQueue, "orphan", (uid) => this.collector.attemptToOrphanWorker(uid));
      await run(this.deleteQueue, "delete", (uid) => this.collector.attemptToDeleteWorker(uid));
      for (const [q, uid] of requeue) q.add(uid);
    }
  }

  names(r: ResourceRef): string[] {
    return this.fake.objects(r).map((o) => o.metadata.name!).sort();
  }

  get(r: ResourceRef, name: string, namespace = "default"): KubeObject | undefined {
    return this.fake.objects(r).find((o) => o.metadata.name === name && (!r.namespaced || o.metadata.namespace === namespace));
  }
}
