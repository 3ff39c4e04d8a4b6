/**
 * Keeps the Node authorizer's graph current from informers on pods and PersistentVolumes over
 * this API server's own store (upstream's graph_populator.go). A pod enters the graph once bound;
 * its references are immutable, so an update matters only when its node or UID changed (a pod
 * recreated under the same name) — or when it gained ephemeral containers.
 */
import { deletedObject, SharedInformer, type EventHandler, type KubeObject } from "@kubemu/common";
import type { ServerContext } from "../../rest/context.js";
import type { ResourceStore } from "../../rest/store.js";
import { storeListerWatcher } from "../../internal/local-informer.js";
import type { NodeGraph } from "./graph.js";

type Obj = Record<string, unknown>;
const spec = (o: KubeObject): Obj => (typeof o.spec === "object" && o.spec !== null ? (o.spec as Obj) : {});

/** What the graph reads of a pod: its metadata (without managedFields) and spec. */
function slimPod(o: KubeObject): KubeObject {
  const { managedFields: _mf, ...metadata } = o.metadata;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata, spec: o.spec };
}

export class GraphPopulator {
  readonly pods: SharedInformer<KubeObject>;
  readonly pvs: SharedInformer<KubeObject>;
  private readonly stopping = new AbortController();
  private running: Promise<unknown> | undefined;

  constructor(ctx: ServerContext, store: ResourceStore, graph: NodeGraph) {
    const informer = (plural: string, transform?: (o: KubeObject) => KubeObject) =>
      new SharedInformer<KubeObject>({
        name: `node-authorizer ${plural}`,
        listerWatcher: storeListerWatcher(store, () => {
          const d = ctx.registry.lookup("", "v1", plural);
          if (!d) throw new Error(`${plural} is not served`);
          return d;
        }),
        clock: ctx.clock,
        logger: ctx.log,
        backoffInitialMs: 200,
        backoffMaxMs: 5_000,
        ...(transform ? { transform } : {}),
      });
    this.pods = informer("pods", slimPod);
    this.pvs = informer("persistentvolumes");
    this.pods.addEventHandler(podGraphHandler(graph));
    this.pvs.addEventHandler(pvGraphHandler(graph));
  }

  start(): void {
    this.running ??= Promise.all([this.pods.run(this.stopping.signal), this.pvs.run(this.stopping.signal)]);
  }

  hasSynced(): boolean {
    return this.pods.hasSynced() && this.pvs.hasSynced();
  }

  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const s = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    const r = await Promise.all([this.pods.waitForSync(s), this.pvs.waitForSync(s)]);
    return r.every(Boolean);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }
}

/** Pod events into the graph: adds, deletes (tombstones too), and the updates that change its edges. */
export function podGraphHandler(graph: NodeGraph): EventHandler<KubeObject> {
  const ephemeral = (o: KubeObject) => JSON.stringify(spec(o).ephemeralContainers ?? []);
  return {
    onAdd: (p) => graph.addPod(p),
    onUpdate: (old, p) => {
      if (!spec(p).nodeName) return;
      const same = spec(old).nodeName === spec(p).nodeName && old.metadata.uid === p.metadata.uid;
      if (same && ephemeral(old) === ephemeral(p)) return;
      graph.addPod(p);
    },
    onDelete: (p) => {
      const pod = deletedObject(p);
      graph.deletePod(pod.metadata.namespace ?? "", pod.metadata.name ?? "");
    },
  };
}

/** PersistentVolume events into the graph. */
export function pvGraphHandler(graph: NodeGraph): EventHandler<KubeObject> {
  return {
    onAdd: (pv) => graph.addPV(pv),
    onUpdate: (_old, pv) => graph.addPV(pv),
    onDelete: (pv) => graph.deletePV(deletedObject(pv).metadata.name ?? ""),
  };
}
