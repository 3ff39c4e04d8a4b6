/**
 * The ReplicaSet controller and the ReplicationController controller (upstream's
 * replicaset-controller and replicationcontroller-controller): one sync, two kinds, each with its
 * own queue, expectations and event source, 5 workers each (--concurrent-replicaset-syncs,
 * --concurrent-rc-syncs defaults).
 */
import { Resources } from "@kubemu/common";
import type { ControllerDescriptor } from "../../controller/context.js";
import { queueControllerDescriptor, withQueue } from "../../controller/descriptor.js";
import { UidTrackingExpectations } from "../../controller/expectations.js";
import type { PodObject } from "../../controller/pod-control.js";
import { ReplicaSetHandlers } from "./controller.js";
import { REPLICATION_CONTROLLER, REPLICA_SET, type ReplicaKind, type ReplicaOwner } from "./kind.js";
import { ReplicaSetSync } from "./sync.js";

const WORKERS = 5;

function descriptor(name: string, alias: string, kind: ReplicaKind): ControllerDescriptor {
  return queueControllerDescriptor({
    name,
    aliases: [alias],
    informers: (ctx) => ({ owners: ctx.informers.informerFor<ReplicaOwner>(kind.resource), pods: ctx.informers.informerFor<PodObject>(Resources.pods) }),
    controller: (ctx, { owners, pods }) =>
      withQueue({ name: kind.queueName, workers: WORKERS }, (queue) => {
        const expectations = new UidTrackingExpectations(ctx.clock);
        const sync = new ReplicaSetSync({
          kind,
          client: ctx.client,
          owners: owners.lister,
          pods: pods.lister,
          recorder: ctx.recorder(kind.component),
          clock: ctx.clock,
          expectations,
          enqueueAfter: (key, ms) => queue.addAfter(key, ms),
          logger: ctx.logger.child({ controller: kind.queueName }),
        });
        return { reconcile: (key) => sync.sync(key), handlers: new ReplicaSetHandlers({ kind, owners, pods, expectations }, queue).register() };
      }),
  });
}

export const replicaSetController = descriptor("replicaset-controller", "replicaset", REPLICA_SET);
export const replicationControllerController = descriptor("replicationcontroller-controller", "replicationcontroller", REPLICATION_CONTROLLER);
