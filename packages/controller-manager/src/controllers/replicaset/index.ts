/**
 * The ReplicaSet controller and the ReplicationController controller (upstream's
 * replicaset-controller and replicationcontroller-controller): one sync, two kinds, each with its
 * own queue, expectations and event source, 5 workers each (--concurrent-replicaset-syncs,
 * --concurrent-rc-syncs defaults).
 */
import { Resources } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { UidTrackingExpectations } from "../../controller/expectations.js";
import type { PodObject } from "../../controller/pod-control.js";
import { runQueueController } from "../../controller/run.js";
import { ReplicaSetHandlers } from "./controller.js";
import { REPLICATION_CONTROLLER, REPLICA_SET, type ReplicaKind, type ReplicaOwner } from "./kind.js";
import { ReplicaSetSync } from "./sync.js";

const WORKERS = 5;

function informersFor(ctx: ControllerContext, kind: ReplicaKind) {
  return { owners: ctx.informers.informerFor<ReplicaOwner>(kind.resource), pods: ctx.informers.informerFor<PodObject>(Resources.pods) };
}

async function run(ctx: ControllerContext, kind: ReplicaKind, signal: AbortSignal): Promise<void> {
  const { owners, pods } = informersFor(ctx, kind);
  const expectations = new UidTrackingExpectations(ctx.clock);
  const logger = ctx.logger.child({ controller: kind.queueName });
  let enqueueAfter: (key: string, ms: number) => void = () => undefined;
  const sync = new ReplicaSetSync({
    kind,
    client: ctx.client,
    owners: owners.lister,
    pods: pods.lister,
    recorder: ctx.recorder(kind.component),
    clock: ctx.clock,
    expectations,
    enqueueAfter: (key, ms) => enqueueAfter(key, ms),
    logger,
  });
  await runQueueController(
    ctx,
    {
      name: kind.queueName,
      workers: WORKERS,
      register: (queue) => {
        enqueueAfter = (key, ms) => queue.addAfter(key, ms);
        return new ReplicaSetHandlers({ kind, owners, pods, expectations }, queue).register();
      },
      reconcile: (key) => sync.sync(key),
    },
    signal,
  );
}

function descriptor(name: string, alias: string, kind: ReplicaKind): ControllerDescriptor {
  return {
    name,
    aliases: [alias],
    informers: (ctx) => void informersFor(ctx, kind),
    run: (ctx, signal) => run(ctx, kind, signal),
  };
}

export const replicaSetController = descriptor("replicaset-controller", "replicaset", REPLICA_SET);
export const replicationControllerController = descriptor("replicationcontroller-controller", "replicationcontroller", REPLICATION_CONTROLLER);
