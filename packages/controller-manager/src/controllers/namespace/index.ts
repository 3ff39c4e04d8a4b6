/** The namespace controller (kube-controller-manager's namespace-controller). */
import { Resources } from "@kubemu/common";
import { queueControllerDescriptor } from "../../controller/descriptor.js";
import { namespaceController } from "./controller.js";

export const namespaceDeletionController = queueControllerDescriptor({
  name: "namespace-controller",
  aliases: ["namespace"],
  informers: (ctx) => ({
    namespaces: ctx.informers.informerFor(Resources.namespaces),
    crds: ctx.informers.informerFor(Resources.customResourceDefinitions),
  }),
  controller: (ctx) => namespaceController(ctx),
});
