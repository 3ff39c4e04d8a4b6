/** The namespace controller (kube-controller-manager's namespace-controller). */
import { Resources } from "@kubemu/common";
import type { ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import { namespaceController } from "./controller.js";

export const namespaceDeletionController: ControllerDescriptor = {
  name: "namespace-controller",
  aliases: ["namespace"],
  informers(ctx) {
    ctx.informers.informerFor(Resources.namespaces);
    ctx.informers.informerFor(Resources.customResourceDefinitions);
  },
  run: (ctx, signal) => runQueueController(ctx, namespaceController(ctx), signal),
};
