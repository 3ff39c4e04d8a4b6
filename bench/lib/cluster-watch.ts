/**
 * Times cluster state changes as a client sees them: informers on Nodes, Pods (one namespace) and
 * node Leases, and `when(predicate)`, which resolves with the performance.now() of the first
 * watch event after which the predicate holds over the caches (checked after every event, so the
 * time is the event's arrival, not a poll's). Also remembers when each node's Lease was last seen
 * renewed (its heartbeat as the node lifecycle controller sees it, give or take the watch's
 * delivery).
 */
import { InformerFactory, Resources, type ApiClient, type KubeObject, type Lister } from "@kubemu/common";

export type Condition = { type: string; status: string; reason?: string };
export type Node = KubeObject & { spec?: { taints?: { key: string; effect: string; timeAdded?: string }[] }; status?: { conditions?: Condition[] } };
export type Pod = KubeObject & { spec: { nodeName?: string }; status?: { phase?: string; conditions?: Condition[] } };

export interface Listers {
  nodes: Lister<Node>;
  pods: Lister<Pod>;
}

interface Waiter {
  test: (l: Listers) => boolean;
  resolve: (at: number) => void;
}

export class ClusterWatch {
  readonly listers: Listers;
  /** Node name → performance.now() when a renewal of its Lease arrived last. */
  readonly leaseRenewedAt = new Map<string, number>();
  private readonly factory: InformerFactory;
  private readonly stop = new AbortController();
  private waiters: Waiter[] = [];

  constructor(client: ApiClient, namespace: string) {
    this.factory = new InformerFactory(client);
    const nodes = this.factory.informerFor<Node>(Resources.nodes);
    const pods = this.factory.informerFor<Pod>(Resources.pods, { namespace });
    const leases = this.factory.informerFor<KubeObject & { spec?: { renewTime?: string } }>(Resources.leases, { namespace: "kube-node-lease" });
    this.listers = { nodes: nodes.lister, pods: pods.lister };
    const changed = () => this.check(performance.now());
    for (const inf of [nodes, pods]) inf.addEventHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
    leases.addEventHandler({
      onAdd: (l) => this.leaseRenewedAt.set(l.metadata.name!, performance.now()),
      onUpdate: (old, l) => {
        if (old.spec?.renewTime !== l.spec?.renewTime) this.leaseRenewedAt.set(l.metadata.name!, performance.now());
      },
    });
  }

  async start(): Promise<void> {
    this.factory.start(this.stop.signal);
    if (!(await this.factory.waitForCacheSync(this.stop.signal))) throw new Error("informers did not sync");
  }

  /** The time of the first event after which `test` holds (now, if it holds already). */
  when(test: (l: Listers) => boolean): Promise<number> {
    if (test(this.listers)) return Promise.resolve(performance.now());
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** `when`, failing after timeoutMs with `what` in the message. */
  async within(what: string, timeoutMs: number, test: (l: Listers) => boolean): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      // A failed run must not be kept alive by the other waits' timers.
      timer.unref();
    });
    try {
      return await Promise.race([this.when(test), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private check(at: number): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.test(this.listers)) w.resolve(at);
      else still.push(w);
    }
    this.waiters = still;
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.factory.stopped();
  }
}

export const condition = (o: { status?: { conditions?: Condition[] } } | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);
export const podReady = (p: Pod) => condition(p, "Ready")?.status === "True";
export const terminating = (p: Pod) => !!p.metadata.deletionTimestamp;
