/**
 * StatefulSet controller test fixture: a FakeClient holding the objects, listers rebuilt from it
 * before every sync (so each sync sees what the API holds, as a caught-up informer would), and
 * helpers that play the API server's defaulting and the kubelet's status writes.
 */
import { FakeClock, Resources, silentLogger, type KubeObject } from "@kubemu/common";
import type { RevisionObject } from "../../src/controller/history.js";
import { StatefulSetSync } from "../../src/controllers/statefulset/sync.js";
import type { ClaimObject, PodObject, StatefulSetObject } from "../../src/controllers/statefulset/types.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const NS = "default";

export function newSet(over: { name?: string; replicas?: number; spec?: Record<string, unknown>; claims?: boolean } = {}): StatefulSetObject {
  const name = over.name ?? "web";
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, resourceVersion: "1", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      replicas: over.replicas ?? 3,
      serviceName: "nginx",
      selector: { matchLabels: { app: "nginx" } },
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      template: {
        metadata: { labels: { app: "nginx" } },
        spec: { containers: [{ name: "nginx", image: "registry.k8s.io/nginx-slim:0.8", volumeMounts: [{ name: "www", mountPath: "/usr/share/nginx/html" }] }] },
      },
      ...(over.claims === false ? {} : { volumeClaimTemplates: [{ metadata: { name: "www" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }] }),
      ...(over.spec ?? {}),
    },
    status: { replicas: 0, availableReplicas: 0 },
  } as StatefulSetObject;
}

export class Fixture {
  readonly fake: FakeClient;
  readonly recorder = new FakeRecorder();
  readonly clock = new FakeClock(Date.parse("2026-01-01T00:10:00Z"));
  readonly requeues: { key: string; ms: number }[] = [];

  constructor(objects: { resource: typeof Resources.pods; objects: KubeObject[] }[]) {
    this.fake = new FakeClient(objects);
  }

  static of(set: StatefulSetObject, extra: { pods?: PodObject[]; claims?: ClaimObject[]; revisions?: RevisionObject[] } = {}): Fixture {
    return new Fixture([
      { resource: Resources.statefulSets, objects: [set] },
      { resource: Resources.pods, objects: extra.pods ?? [] },
      { resource: Resources.persistentVolumeClaims, objects: extra.claims ?? [] },
      { resource: Resources.controllerRevisions, objects: extra.revisions ?? [] },
    ]);
  }

  /** One sync of default/<name> over listers made from what the fake API holds now, then the API server's pod defaulting. */
  async sync(name = "web"): Promise<void> {
    const s = new StatefulSetSync({
      client: this.fake,
      listers: {
        sets: this.fake.indexer<StatefulSetObject>(Resources.statefulSets),
        pods: this.fake.indexer<PodObject>(Resources.pods),
        claims: this.fake.indexer<ClaimObject>(Resources.persistentVolumeClaims),
        revisions: this.fake.indexer<RevisionObject>(Resources.controllerRevisions),
      },
      recorder: this.recorder,
      clock: this.clock,
      logger: silentLogger,
      enqueueAfter: (key, ms) => this.requeues.push({ key, ms }),
    });
    await s.sync(`${NS}/${name}`);
    await this.defaultNewPods();
  }

  /** The API server gives a created pod phase Pending. */
  private async defaultNewPods(): Promise<void> {
    for (const p of this.pods()) if (!p.status?.phase) await this.fake.updateStatus(Resources.pods, { ...p, status: { phase: "Pending" } });
  }

  pods(): PodObject[] {
    return this.fake.objects<PodObject>(Resources.pods).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  }

  podNames(): string[] {
    return this.pods().map((p) => p.metadata.name!);
  }

  pod(name: string): PodObject {
    const p = this.pods().find((x) => x.metadata.name === name);
    if (!p) throw new Error(`no pod ${name}; have ${this.podNames().join(",")}`);
    return p;
  }

  claims(): ClaimObject[] {
    return this.fake.objects<ClaimObject>(Resources.persistentVolumeClaims).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  }

  revisions(): RevisionObject[] {
    return this.fake.objects<RevisionObject>(Resources.controllerRevisions).sort((a, b) => a.revision - b.revision);
  }

  set(name = "web"): StatefulSetObject {
    return this.fake.objects<StatefulSetObject>(Resources.statefulSets).find((s) => s.metadata.name === name)!;
  }

  /** Changes the set's spec as a user would (generation goes up). */
  async editSpec(edit: (spec: StatefulSetObject["spec"]) => void, name = "web"): Promise<void> {
    const set = this.set(name);
    edit(set.spec);
    set.metadata.generation = (set.metadata.generation ?? 1) + 1;
    await this.fake.update(Resources.statefulSets, set);
  }

  /** Plays the kubelet: Running with Ready=True since `since` (default: now on the fake clock). */
  async ready(name: string, since = this.clock.now()): Promise<void> {
    const t = new Date(since).toISOString().replace(/\.\d+Z$/, "Z");
    await this.fake.updateStatus(Resources.pods, { ...this.pod(name), status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: t }] } });
  }

  async phase(name: string, phase: string, ready = false): Promise<void> {
    await this.fake.updateStatus(Resources.pods, { ...this.pod(name), status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } });
  }

  /** Marks the pod terminating, as a graceful delete of a bound pod leaves it until its kubelet confirms. */
  async terminating(name: string): Promise<void> {
    const p = this.pod(name);
    await this.fake.update(Resources.pods, { ...p, metadata: { ...p.metadata, deletionTimestamp: "2026-01-01T00:09:00Z" } });
  }

  async syncUntilStable(name = "web", readyAll = true, rounds = 20): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await this.sync(name);
      if (readyAll) for (const p of this.pods()) if (p.status?.phase === "Pending") await this.ready(p.metadata.name!);
    }
  }

  clearEvents(): void {
    this.recorder.events.length = 0;
  }

  events(): string[] {
    return this.recorder.lines();
  }

  writes(verb?: string, resource?: string) {
    return this.fake.writes().filter((a) => (!verb || a.verb === verb) && (!resource || a.resource === resource));
  }
}
