/**
 * Test bed for the node lifecycle controller: a FakeClient holding nodes, their Leases in
 * kube-node-lease and pods; listers that always show what the fake holds (informers caught up);
 * a FakeClock; helpers that play the kubelet (renew the Lease, post Ready).
 */
import { FakeClock, Resources, type Lister } from "@kubemu/common";
import type { NodeCondition, Taint } from "kubernetes-types/core/v1.js";
import type { NodeLifecycleOptions } from "../../src/controller/context.js";
import type { PodObject } from "../../src/controllers/node-util/conditions.js";
import type { NodeObject } from "../../src/controllers/node-util/taints.js";
import type { LeaseObject } from "../../src/controllers/nodelifecycle/health.js";
import { NodeLifecycle } from "../../src/controllers/nodelifecycle/sync.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

export function node(name: string, o: { ready?: "True" | "False" | "Unknown" | null; labels?: Record<string, string>; taints?: Taint[]; unschedulable?: boolean; at?: number } = {}): NodeObject {
  const at = iso(o.at ?? T0);
  const conditions: NodeCondition[] =
    o.ready === null
      ? []
      : [
          { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available", lastHeartbeatTime: at, lastTransitionTime: at },
          { type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure", lastHeartbeatTime: at, lastTransitionTime: at },
          { type: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available", lastHeartbeatTime: at, lastTransitionTime: at },
          { type: "Ready", status: o.ready ?? "True", reason: o.ready === "False" ? "KubeletNotReady" : "KubeletReady", message: o.ready === "False" ? "container runtime is down" : "kubelet is posting ready status", lastHeartbeatTime: at, lastTransitionTime: at },
        ];
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `uid-${name}`, creationTimestamp: iso(T0), labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "beta.kubernetes.io/os": "linux", ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { conditions },
  } as NodeObject;
}

export function lease(name: string, renewMs = T0): LeaseObject {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: "kube-node-lease", uid: `uid-lease-${name}` },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date(renewMs).toISOString() },
  } as LeaseObject;
}

export function pod(name: string, nodeName: string, o: { ready?: boolean; tolerations?: unknown[]; namespace?: string } = {}): PodObject {
  const ready = o.ready ?? true;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: o.namespace ?? "default", uid: `uid-${name}`, creationTimestamp: iso(T0) },
    spec: { nodeName, containers: [{ name: "c", image: "nginx" }], ...(o.tolerations ? { tolerations: o.tolerations } : {}) },
    status: {
      phase: "Running",
      conditions: [
        { type: "Ready", status: ready ? "True" : "False", lastProbeTime: null, lastTransitionTime: iso(T0) },
        { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: iso(T0) },
      ],
    },
  } as unknown as PodObject;
}

export class Bed {
  readonly clock = new FakeClock(T0);
  readonly recorder = new FakeRecorder();
  readonly core: NodeLifecycle;

  constructor(
    readonly fake: FakeClient,
    options: Partial<NodeLifecycleOptions> = {},
  ) {
    const f = fake;
    this.core = new NodeLifecycle({
      client: fake,
      listers: {
        get nodes(): Lister<NodeObject> {
          return f.indexer<NodeObject>(Resources.nodes);
        },
        get pods(): Lister<PodObject> {
          return f.indexer<PodObject>(Resources.pods);
        },
        get leases(): Lister<LeaseObject> {
          return f.indexer<LeaseObject>(Resources.leases);
        },
      },
      recorder: this.recorder,
      clock: this.clock,
      options,
    });
  }

  static of(nodes: NodeObject[], pods: PodObject[] = [], options: Partial<NodeLifecycleOptions> = {}): Bed {
    return new Bed(
      new FakeClient([
        { resource: Resources.nodes, objects: nodes },
        { resource: Resources.leases, objects: nodes.map((n) => lease(n.metadata.name!)) },
        { resource: Resources.pods, objects: pods },
      ]),
      options,
    );
  }

  /** The kubelet renews its Lease now. */
  async renew(name: string): Promise<void> {
    const l = (await this.fake.get<LeaseObject>(Resources.leases, "kube-node-lease", name)) as LeaseObject & { spec: { renewTime?: string } };
    l.spec.renewTime = new Date(this.clock.now()).toISOString();
    await this.fake.update(Resources.leases, l);
  }

  /** The kubelet posts its node status now (heartbeats every condition; Ready as given). */
  async postStatus(name: string, ready: "True" | "False" = "True"): Promise<void> {
    const cur = await this.fake.get<NodeObject>(Resources.nodes, undefined, name);
    const fresh = node(name, { ready, at: this.clock.now() });
    const old = cur.status?.conditions ?? [];
    const conditions = fresh.status!.conditions!.map((c) => {
      const prev = old.find((o) => o.type === c.type);
      return prev && prev.status === c.status ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
    });
    await this.fake.updateStatus(Resources.nodes, { ...cur, status: { conditions } });
  }

  /** Seconds pass: each second the kubelets of `alive` renew, then a monitor pass and a tainting pass run. */
  async seconds(n: number, alive: readonly string[] = []): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.clock.advance(1000);
      for (const name of alive) await this.renew(name);
      await this.pass();
    }
  }

  async pass(): Promise<void> {
    await this.core.monitorNodeHealth();
    await this.core.doNoExecuteTaintingPass();
  }

  node(name: string): NodeObject {
    return this.fake.objects<NodeObject>(Resources.nodes).find((n) => n.metadata.name === name)!;
  }

  condition(name: string, type: string): NodeCondition | undefined {
    return this.node(name).status?.conditions?.find((c) => c.type === type);
  }

  /** "key:Effect" of the node's taints. */
  taints(name: string): string[] {
    return (this.node(name).spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`);
  }

  podReady(name: string): string | undefined {
    return this.fake.objects<PodObject>(Resources.pods).find((p) => p.metadata.name === name)?.status?.conditions?.find((c) => c.type === "Ready")?.status;
  }
}
