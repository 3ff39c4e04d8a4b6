/**
 * Test bed for the DaemonSet sync: a FakeClient holding nodes and DaemonSets, listers that
 * always show what the fake holds now (as if the informers had caught up), a FakeClock, and
 * helpers that play the scheduler (bind) and the kubelet (ready, failed).
 */
import { FakeClock, Resources, type KubeObject, type Lister } from "@kubemu/common";
import type { Taint } from "kubernetes-types/core/v1.js";
import { ControllerExpectations } from "../../src/controller/expectations.js";
import type { PodObject } from "../../src/controller/pod-control.js";
import { Backoff } from "../../src/controllers/daemonset/backoff.js";
import { targetNodeName, type DaemonSetObject } from "../../src/controllers/daemonset/daemon-pod.js";
import { DaemonSetSync, type DaemonSetListers, type NodeObject, type RevisionObject } from "../../src/controllers/daemonset/sync.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const T0 = Date.parse("2026-01-01T00:00:00Z");
export const KEY = "default/ssd-monitor";

export function node(name: string, opts: { labels?: Record<string, string>; taints?: Taint[] } = {}): NodeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `uid-${name}`, labels: { "kubernetes.io/hostname": name, ...(opts.labels ?? {}) } },
    spec: opts.taints ? { taints: opts.taints } : {},
    status: { conditions: [{ type: "Ready", status: "True" }] },
  } as NodeObject;
}

export interface DsOpts {
  nodeSelector?: Record<string, string>;
  image?: string;
  strategy?: "RollingUpdate" | "OnDelete";
  maxUnavailable?: number | string;
  maxSurge?: number | string;
  minReadySeconds?: number;
  generation?: number;
  revisionHistoryLimit?: number;
  tolerations?: unknown[];
  hostNetwork?: boolean;
}

/** A DaemonSet as the API server stores it after defaulting (KIA's ssd-monitor by default). */
export function daemonSet(o: DsOpts = {}): DaemonSetObject {
  const generation = o.generation ?? 1;
  const strategy = o.strategy ?? "RollingUpdate";
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "ssd-monitor", namespace: "default", uid: "uid-ds", generation, resourceVersion: "1", annotations: { "deprecated.daemonset.template.generation": String(generation) } },
    spec: {
      selector: { matchLabels: { app: "ssd-monitor" } },
      template: {
        metadata: { labels: { app: "ssd-monitor" } },
        spec: {
          ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
          ...(o.tolerations ? { tolerations: o.tolerations } : {}),
          ...(o.hostNetwork ? { hostNetwork: true } : {}),
          containers: [{ name: "main", image: o.image ?? "luksa/ssd-monitor" }],
          restartPolicy: "Always",
        },
      },
      updateStrategy: strategy === "RollingUpdate" ? { type: "RollingUpdate", rollingUpdate: { maxUnavailable: o.maxUnavailable ?? 1, maxSurge: o.maxSurge ?? 0 } } : { type: "OnDelete" },
      revisionHistoryLimit: o.revisionHistoryLimit ?? 10,
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
    },
    status: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
  } as unknown as DaemonSetObject;
}

export class Bed {
  readonly clock = new FakeClock(T0);
  readonly recorder = new FakeRecorder();
  readonly expectations = new ControllerExpectations(this.clock);
  readonly backoff = new Backoff(this.clock, 1000, 15 * 60_000);
  readonly requeued: { key: string; ms: number }[] = [];
  readonly sync: DaemonSetSync;
  /** When set, the pod lister shows this instead of the fake's pods (an informer that lags behind). */
  stalePods?: Lister<PodObject>;

  constructor(
    readonly fake: FakeClient,
    burstReplicas?: number,
  ) {
    const f = fake;
    const self = this as Bed;
    const listers: DaemonSetListers = {
      get daemonSets() {
        return f.indexer<DaemonSetObject>(Resources.daemonSets);
      },
      get pods() {
        return self.stalePods ?? f.indexer<PodObject>(Resources.pods);
      },
      get nodes() {
        return f.indexer<NodeObject>(Resources.nodes);
      },
      get revisions() {
        return f.indexer<RevisionObject>(Resources.controllerRevisions);
      },
    };
    this.sync = new DaemonSetSync({
      client: fake,
      listers,
      recorder: this.recorder,
      clock: this.clock,
      expectations: this.expectations,
      failedPodsBackoff: this.backoff,
      enqueueAfter: (key, ms) => this.requeued.push({ key, ms }),
      ...(burstReplicas !== undefined ? { burstReplicas } : {}),
    });
  }

  static of(nodes: NodeObject[], ds: DaemonSetObject = daemonSet()): Bed {
    return new Bed(new FakeClient([
      { resource: Resources.nodes, objects: nodes },
      { resource: Resources.daemonSets, objects: [ds] },
    ]));
  }

  /** One sync, then the informer "observes" every write (expectations met), as a live cluster would. */
  async round(): Promise<void> {
    await this.sync.sync(KEY);
    this.expectations.delete(KEY);
  }

  pods(): PodObject[] {
    return this.fake.objects<PodObject>(Resources.pods).sort((a, b) => (targetNodeName(a) ?? "").localeCompare(targetNodeName(b) ?? ""));
  }

  /** Node name → pods for it. */
  placement(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const p of this.pods()) (out[targetNodeName(p) ?? "?"] ??= []).push(p.metadata.name!);
    return out;
  }

  ds(): DaemonSetObject {
    return this.fake.objects<DaemonSetObject>(Resources.daemonSets)[0]!;
  }

  revisions(): RevisionObject[] {
    return this.fake.objects<RevisionObject>(Resources.controllerRevisions);
  }

  /** Plays the scheduler: binds every unbound pod to the node its affinity names. */
  async bindAll(): Promise<void> {
    for (const p of this.pods()) if (!p.spec?.nodeName) await this.fake.patch(Resources.pods, p.metadata.namespace, p.metadata.name!, "merge", { spec: { nodeName: targetNodeName(p) } });
  }

  /** Plays the kubelet: Running and Ready since `sinceMs` (default now). */
  async markReady(name: string, sinceMs = this.clock.now()): Promise<void> {
    const at = new Date(sinceMs).toISOString().replace(/\.\d+Z$/, "Z");
    await this.fake.patch(Resources.pods, "default", name, "merge", { status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: at }] } });
  }

  async markAllReady(): Promise<void> {
    await this.bindAll();
    for (const p of this.pods()) if (p.status?.phase !== "Running") await this.markReady(p.metadata.name!);
  }

  async setPhase(name: string, phase: "Failed" | "Succeeded"): Promise<void> {
    await this.fake.patch(Resources.pods, "default", name, "merge", { status: { phase } });
  }

  /** Replaces the stored DaemonSet (as a user's update, with the server's generation bookkeeping done by the caller). */
  async updateDs(ds: DaemonSetObject): Promise<void> {
    const cur = this.ds();
    await this.fake.update(Resources.daemonSets, { ...ds, metadata: { ...ds.metadata, resourceVersion: cur.metadata.resourceVersion }, status: cur.status } as KubeObject);
  }

  /** Deletes a pod as its kubelet finally would (gone from the store). */
  async removePod(name: string): Promise<void> {
    await this.fake.delete(Resources.pods, "default", name);
  }
}
