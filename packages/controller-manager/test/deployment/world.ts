/**
 * A small world for the Deployment controller's unit tests: a FakeClient holding Deployments,
 * ReplicaSets and pods, a virtual clock, and `sync()` that runs one reconcile with listers over
 * what the API holds now (caches caught up). `settle()` plays the ReplicaSet controller: each
 * ReplicaSet's status follows its spec, with as many replicas ready and available as the test
 * says.
 */
import { FakeClock, Indexer, Resources, objectKey, silentLogger, standardIndexers, type KubeObject, type ResourceRef, type WriteOptions } from "@kubemu/common";
import { apiTime } from "../../src/controllers/deployment/conditions.js";
import type { DeploymentDeps, RequeueQueue } from "../../src/controllers/deployment/deps.js";
import { DeploymentSync } from "../../src/controllers/deployment/sync.js";
import type { Deployment, PodObject, ReplicaSet } from "../../src/controllers/deployment/types.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const START = Date.parse("2026-03-01T10:00:00Z");

/**
 * FakeClient plus two API server behaviours the controller relies on: creationTimestamp from the
 * clock (ReplicaSets are ordered by age), and a Deployment's status write storing its
 * annotations (upstream's deployment status strategy) — done as a follow-up update, so the
 * action log shows an extra `update` on deployments after each `update-status`.
 */
export class DeploymentFakeClient extends FakeClient {
  constructor(private readonly clock: FakeClock) {
    super();
  }

  override create<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts?: WriteOptions & { namespace?: string }): Promise<T> {
    const o = structuredClone(obj);
    o.metadata.creationTimestamp ??= apiTime(this.clock.now());
    o.metadata.uid ??= `uid-${o.metadata.name ?? ""}-${this.clock.now()}`;
    return super.create(r, o, opts);
  }

  override async updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    const stored = await super.updateStatus(r, obj);
    if (r.resource !== "deployments") return stored;
    const { annotations } = obj.metadata;
    return super.update(r, { ...stored, metadata: { ...stored.metadata, annotations: annotations ? { ...annotations } : undefined } } as T);
  }
}

export class RecordingQueue implements RequeueQueue {
  readonly after: { key: string; ms: number }[] = [];
  readonly rateLimited: string[] = [];
  addAfter(key: string, ms: number): void {
    this.after.push({ key, ms });
  }
  addRateLimited(key: string): void {
    this.rateLimited.push(key);
  }
}

function indexer<T extends KubeObject>(objects: T[]): Indexer<T> {
  const ix = new Indexer<T>(standardIndexers as never);
  for (const o of objects) ix.set(o);
  return ix;
}

export interface DeploymentOptions {
  replicas?: number;
  image?: string;
  strategy?: Deployment["spec"]["strategy"];
  minReadySeconds?: number;
  progressDeadlineSeconds?: number | undefined;
  revisionHistoryLimit?: number;
  paused?: boolean;
  annotations?: Record<string, string>;
}

export function deployment(name: string, o: DeploymentOptions = {}): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default", uid: `uid-${name}`, generation: 1, labels: { app: name }, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: o.image ?? "nginx:1.0" }] } },
      strategy: o.strategy ?? { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      revisionHistoryLimit: o.revisionHistoryLimit ?? 10,
      ...("progressDeadlineSeconds" in o ? (o.progressDeadlineSeconds === undefined ? {} : { progressDeadlineSeconds: o.progressDeadlineSeconds }) : { progressDeadlineSeconds: 600 }),
      ...(o.minReadySeconds !== undefined ? { minReadySeconds: o.minReadySeconds } : {}),
      ...(o.paused ? { paused: true } : {}),
    },
  };
}

export class World {
  readonly clock = new FakeClock(START);
  readonly client = new DeploymentFakeClient(this.clock);
  readonly recorder = new FakeRecorder();
  readonly queue = new RecordingQueue();

  async add(r: ResourceRef, obj: KubeObject): Promise<void> {
    await this.client.create(r, obj);
  }

  deployment(name = "web"): Deployment {
    return this.client.objects<Deployment>(Resources.deployments).find((d) => d.metadata.name === name)!;
  }

  replicaSets(): ReplicaSet[] {
    return this.client.objects<ReplicaSet>(Resources.replicaSets).sort((a, b) => (a.metadata.creationTimestamp! < b.metadata.creationTimestamp! ? -1 : a.metadata.creationTimestamp! > b.metadata.creationTimestamp! ? 1 : 0));
  }

  /** name → spec.replicas of every ReplicaSet. */
  sizes(): Record<string, number> {
    return Object.fromEntries(this.replicaSets().map((rs) => [rs.metadata.name!, rs.spec.replicas ?? 1]));
  }

  /** One reconcile of `namespace/name` against what the API holds now (parts of the deps replaceable). */
  async sync(key = "default/web", override: Partial<DeploymentDeps> = {}): Promise<void> {
    const s = new DeploymentSync({
      client: this.client,
      recorder: this.recorder,
      clock: this.clock,
      logger: silentLogger,
      deployments: indexer(this.client.objects<Deployment>(Resources.deployments)),
      replicaSets: indexer(this.client.objects<ReplicaSet>(Resources.replicaSets)),
      pods: indexer(this.client.objects<PodObject>(Resources.pods)),
      queue: this.queue,
      ...override,
    });
    await s.syncDeployment(key);
  }

  /** Syncs, ignoring the errors a real controller would retry (conflicts, collisions). */
  async syncQuietly(key = "default/web"): Promise<unknown> {
    try {
      await this.sync(key);
      return undefined;
    } catch (e) {
      return e;
    }
  }

  /**
   * Plays the ReplicaSet controller: status.replicas = spec.replicas and observedGeneration =
   * generation for every ReplicaSet; `available(rs)` (default: all) of them ready and available.
   */
  async settle(available: (rs: ReplicaSet) => number = (rs) => rs.spec.replicas ?? 1): Promise<void> {
    for (const rs of this.replicaSets()) {
      const n = Math.min(available(rs), rs.spec.replicas ?? 1);
      await this.client.updateStatus(Resources.replicaSets, { ...rs, status: { replicas: rs.spec.replicas ?? 1, readyReplicas: n, availableReplicas: n, fullyLabeledReplicas: rs.spec.replicas ?? 1, observedGeneration: rs.metadata.generation ?? 0 } });
    }
  }

  /** Changes the Deployment's spec through the API (as kubectl would), bumping generation when the spec changes. */
  async edit(name: string, change: (d: Deployment) => void): Promise<void> {
    const d = this.deployment(name);
    const before = JSON.stringify(d.spec);
    change(d);
    if (JSON.stringify(d.spec) !== before) d.metadata.generation = (d.metadata.generation ?? 1) + 1;
    await this.client.update(Resources.deployments, d);
  }

  /** Reconciles and settles until nothing changes (or `rounds` runs out); returns the rounds used. */
  async converge(rounds = 30, available?: (rs: ReplicaSet) => number): Promise<number> {
    for (let i = 1; i <= rounds; i++) {
      const before = this.snapshot();
      await this.syncQuietly();
      await this.settle(available);
      const after = this.snapshot();
      if (before === after) return i;
    }
    return rounds;
  }

  /** What a sync can change, without resourceVersions. */
  private snapshot(): string {
    const rss = this.replicaSets().map((rs) => [rs.metadata.name, rs.metadata.annotations, rs.spec, rs.status]);
    const d = this.deployment();
    return JSON.stringify([rss, d.status, d.metadata.annotations]);
  }

  events(): string[] {
    return this.recorder.lines();
  }

  key(obj: KubeObject): string {
    return objectKey(obj);
  }
}
