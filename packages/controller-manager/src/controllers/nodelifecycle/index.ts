/**
 * The node lifecycle controller (upstream's node-lifecycle-controller): node heartbeats watched,
 * silent nodes made Unknown and tainted, their pods marked not Ready; conditions and cordons
 * mirrored as NoSchedule taints (README: "node-lifecycle-controller").
 */
import type { ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import { CONTROLLER_NAME, NodeLifecycleController, nodeLifecycleInformers } from "./controller.js";

export const nodeLifecycleController: ControllerDescriptor = {
  name: CONTROLLER_NAME,
  aliases: ["nodelifecycle"],
  informers(ctx) {
    nodeLifecycleInformers(ctx);
  },
  run(ctx, signal) {
    return runQueueController(ctx, new NodeLifecycleController(ctx), signal);
  },
};
