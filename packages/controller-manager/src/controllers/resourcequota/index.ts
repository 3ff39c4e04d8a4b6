/** The resource quota controller (kube-controller-manager's resourcequota-controller). */
import { Resources } from "@kubemu/common";
import type { ControllerDescriptor } from "../../controller/context.js";
import { runResourceQuotaController } from "./controller.js";
import { monitoredBuiltins } from "./monitors.js";

export const resourceQuotaController: ControllerDescriptor = {
  name: "resourcequota-controller",
  aliases: ["resourcequota"],
  informers(ctx) {
    ctx.informers.informerFor(Resources.resourceQuotas);
    ctx.informers.informerFor(Resources.customResourceDefinitions);
    // Every quotable built-in resource's monitor, so a standby can count from warm caches.
    for (const r of monitoredBuiltins()) ctx.informers.informerFor(r);
  },
  run: (ctx, signal) => runResourceQuotaController(ctx, signal),
};
