/**
 * PV controller test fixture: a FakeClient holding PVs, claims, classes and pods; listers that
 * read what the fake API holds at each call (a caught-up informer); one PersistentVolumeSync kept
 * across syncs (its own cache lives as long as the controller). `settle()` plays the informers'
 * events: it syncs every claim and PV, again and again, until a round writes nothing.
 */
import { FakeClock, Indexer, Resources, standardIndexers, type KubeObject, type Lister, type ResourceRef } from "@kubemu/common";
import type { PodObject } from "../../src/controller/pod-control.js";
import { POD_PVC_INDEX, podPvcIndex } from "../../src/controller/pod-pvc-index.js";
import { PersistentVolumeSync } from "../../src/controllers/persistentvolume/sync.js";
import type { ClaimObject, ClassObject, VolumeObject } from "../../src/controllers/persistentvolume/types.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const NS = "default";
const T0 = "2026-01-01T00:00:00Z";

/** A lister over what the fake API holds right now. */
export function liveLister<T extends KubeObject>(fake: FakeClient, r: ResourceRef, extra: Record<string, (o: KubeObject) => readonly string[]> = {}): Lister<T> {
  const ix = (): Indexer<T> => {
    const i = new Indexer<T>({ ...standardIndexers, ...extra } as never);
    for (const o of fake.objects<T>(r)) i.set(o);
    return i;
  };
  return {
    get: (ns, name) => ix().get(ns, name),
    getByKey: (k) => ix().getByKey(k),
    list: (o) => ix().list(o),
    byIndex: (n, v) => ix().byIndex(n, v),
    keys: () => ix().keys(),
    size: () => ix().size(),
  };
}

export function pv(name: string, o: { size?: string; modes?: string[]; cls?: string; labels?: Record<string, string>; policy?: string; claimRef?: Record<string, string>; mode?: string; phase?: string; source?: Record<string, unknown>; annotations?: Record<string, string> } = {}): VolumeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, uid: `uid-${name}`, resourceVersion: "1", creationTimestamp: T0, ...(o.labels ? { labels: o.labels } : {}), ...(o.annotations ? { annotations: o.annotations } : {}), finalizers: ["kubernetes.io/pv-protection"] },
    spec: {
      capacity: { storage: o.size ?? "1Gi" },
      accessModes: o.modes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: o.policy ?? "Retain",
      volumeMode: o.mode ?? "Filesystem",
      ...(o.cls !== undefined ? { storageClassName: o.cls } : {}),
      ...(o.claimRef ? { claimRef: o.claimRef } : {}),
      ...(o.source ?? { hostPath: { path: `/tmp/${name}` } }),
    },
    status: { phase: o.phase ?? "Available" },
  } as VolumeObject;
}

export function claim(name: string, o: { size?: string; modes?: string[]; cls?: string | null; selector?: unknown; volumeName?: string; mode?: string; annotations?: Record<string, string> } = {}): ClaimObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: "1", creationTimestamp: T0, finalizers: ["kubernetes.io/pvc-protection"], ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      accessModes: o.modes ?? ["ReadWriteOnce"],
      resources: { requests: { storage: o.size ?? "1Gi" } },
      volumeMode: o.mode ?? "Filesystem",
      // null: no class at all (the default class may come); a string, "" included, names one.
      ...(o.cls === null ? {} : { storageClassName: o.cls ?? "" }),
      ...(o.selector ? { selector: o.selector } : {}),
      ...(o.volumeName ? { volumeName: o.volumeName } : {}),
    },
    status: { phase: "Pending" },
  } as ClaimObject;
}

export function storageClass(name: string, o: { provisioner?: string; mode?: string; isDefault?: boolean; reclaimPolicy?: string } = {}): ClassObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, uid: `uid-${name}`, creationTimestamp: T0, ...(o.isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}) },
    provisioner: o.provisioner ?? "rancher.io/local-path",
    reclaimPolicy: o.reclaimPolicy ?? "Delete",
    volumeBindingMode: o.mode ?? "Immediate",
  } as ClassObject;
}

export function pod(name: string, claimName: string, o: { nodeName?: string; phase?: string } = {}): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, uid: `uid-${name}`, creationTimestamp: T0 },
    spec: { ...(o.nodeName ? { nodeName: o.nodeName } : {}), containers: [{ name: "c", image: "busybox" }], volumes: [{ name: "data", persistentVolumeClaim: { claimName } }] },
    status: { phase: o.phase ?? "Pending" },
  } as PodObject;
}

export class Fixture {
  readonly fake: FakeClient;
  readonly recorder = new FakeRecorder();
  readonly clock = new FakeClock(Date.parse("2026-01-01T00:10:00Z"));
  readonly sync: PersistentVolumeSync;
  readonly enqueued: { claims: string[]; volumes: string[] } = { claims: [], volumes: [] };

  constructor(objects: { volumes?: VolumeObject[]; claims?: ClaimObject[]; classes?: ClassObject[]; pods?: PodObject[] } = {}) {
    this.fake = new FakeClient(
      [
        { resource: Resources.persistentVolumes, objects: objects.volumes ?? [] },
        { resource: Resources.persistentVolumeClaims, objects: objects.claims ?? [] },
        { resource: Resources.storageClasses, objects: objects.classes ?? [] },
        { resource: Resources.pods, objects: objects.pods ?? [] },
      ],
      { lifecycle: true },
    );
    this.sync = new PersistentVolumeSync({
      client: this.fake,
      listers: {
        volumes: liveLister<VolumeObject>(this.fake, Resources.persistentVolumes),
        claims: liveLister<ClaimObject>(this.fake, Resources.persistentVolumeClaims),
        classes: liveLister<ClassObject>(this.fake, Resources.storageClasses),
        pods: liveLister<PodObject>(this.fake, Resources.pods, { [POD_PVC_INDEX]: podPvcIndex }),
      },
      recorder: this.recorder,
      enqueueClaim: (k) => this.enqueued.claims.push(k),
      enqueueVolume: (n) => this.enqueued.volumes.push(n),
      clock: this.clock,
      recyclerPollMs: 100,
    });
    this.sync.initializeCaches();
  }

  /** One sync of every claim and PV the API or the controller's cache knows (deleted ones are seen as deletions). */
  async round(): Promise<void> {
    const claimKeys = new Set([...this.fake.objects<ClaimObject>(Resources.persistentVolumeClaims).map((c) => `${c.metadata.namespace}/${c.metadata.name}`), ...this.sync.claims.list().map((c) => `${c.metadata.namespace}/${c.metadata.name}`)]);
    const volumeNames = new Set([...this.fake.objects<VolumeObject>(Resources.persistentVolumes).map((v) => v.metadata.name!), ...this.sync.volumes.list().map((v) => v.metadata.name!)]);
    for (const k of [...claimKeys].sort()) await this.sync.claimWork(k);
    for (const n of [...volumeNames].sort()) await this.sync.volumeWork(n);
  }

  /** Rounds until one writes nothing and enqueues nothing (a sync that throws fails the test). */
  async settle(rounds = 10): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const before = this.fake.writes().length;
      const enqueued = this.enqueued.claims.length + this.enqueued.volumes.length;
      await this.round();
      // Steady once a round neither wrote nor asked for another sync.
      if (this.fake.writes().length === before && this.enqueued.claims.length + this.enqueued.volumes.length === enqueued) return;
    }
    throw new Error("no steady state");
  }

  volume(name: string): VolumeObject {
    const v = this.fake.objects<VolumeObject>(Resources.persistentVolumes).find((x) => x.metadata.name === name);
    if (!v) throw new Error(`no PV ${name}`);
    return v;
  }

  hasVolume(name: string): boolean {
    return this.fake.objects<VolumeObject>(Resources.persistentVolumes).some((x) => x.metadata.name === name);
  }

  claim(name: string): ClaimObject {
    const c = this.fake.objects<ClaimObject>(Resources.persistentVolumeClaims).find((x) => x.metadata.name === name);
    if (!c) throw new Error(`no claim ${name}`);
    return c;
  }

  /** Deletes a claim as the API does once no finalizer holds it. */
  async deleteClaim(name: string): Promise<void> {
    const c = this.claim(name);
    await this.fake.update(Resources.persistentVolumeClaims, { ...c, metadata: { ...c.metadata, finalizers: [] } });
    await this.fake.delete(Resources.persistentVolumeClaims, NS, name);
  }

  async deleteVolume(name: string): Promise<void> {
    const v = this.volume(name);
    await this.fake.update(Resources.persistentVolumes, { ...v, metadata: { ...v.metadata, finalizers: [] } });
    await this.fake.delete(Resources.persistentVolumes, undefined, name);
  }

  events(): string[] {
    return this.recorder.lines();
  }

  eventsFor(key: string): string[] {
    return this.recorder.events.filter((e) => e.object === key).map((e) => `${e.type} ${e.reason} ${e.message}`);
  }
}
