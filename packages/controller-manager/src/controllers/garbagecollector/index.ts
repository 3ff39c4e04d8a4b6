/** The garbage collector (kube-controller-manager's garbage-collector-controller). */
import { Resources } from "@kubemu/common";
import type { ControllerDescriptor } from "../../controller/context.js";
import { monitoredBuiltins, runGarbageCollector } from "./controller.js";

export const garbageCollectorController: ControllerDescriptor = {
  name: "garbage-collector-controller",
  aliases: ["garbagecollector"],
  informers(ctx) {
    // Every built-in resource's informer, so a standby's graph can be built from warm caches.
    for (const r of monitoredBuiltins()) ctx.informers.informerFor(r);
    ctx.informers.informerFor(Resources.customResourceDefinitions);
  },
  run: (ctx, signal) => runGarbageCollector(ctx, signal),
};
