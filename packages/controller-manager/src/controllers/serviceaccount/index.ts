/**
 * The ServiceAccount controller (upstream's serviceaccount-controller): namespaces added or
 * updated, and ServiceAccounts deleted, queue their namespace; the sync makes sure `default`
 * exists there.
 */
import type { KubeObject } from "@kubemu/common";
import { Resources, deletedObject } from "@kubemu/common";
import { queueControllerDescriptor } from "../../controller/descriptor.js";
import { ServiceAccountsSync } from "./sync.js";

export const serviceAccountControllerDescriptor = queueControllerDescriptor({
  name: "serviceaccount-controller",
  aliases: ["serviceaccount"],
  informers: (ctx) => ({
    namespaces: ctx.informers.informerFor<KubeObject>(Resources.namespaces),
    serviceAccounts: ctx.informers.informerFor<KubeObject>(Resources.serviceAccounts),
  }),
  controller(ctx, inf) {
    const sync = new ServiceAccountsSync({ client: ctx.client, namespaces: inf.namespaces.lister, serviceAccounts: inf.serviceAccounts.lister });
    return {
      name: "serviceaccount",
      workers: 1,
      register: (queue) => [
        inf.namespaces.addEventHandler({ onAdd: (ns) => queue.add(ns.metadata.name!), onUpdate: (_o, ns) => queue.add(ns.metadata.name!) }),
        inf.serviceAccounts.addEventHandler({ onDelete: (sa) => queue.add(deletedObject(sa).metadata.namespace!) }, { resync: false }),
      ],
      reconcile: (ns) => sync.sync(ns),
    };
  },
});
