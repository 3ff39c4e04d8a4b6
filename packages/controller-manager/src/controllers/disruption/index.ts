/**
 * The disruption controller (upstream's disruption-controller): PodDisruptionBudget status for
 * the eviction API (README: "disruption-controller").
 */
import type { ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import { CONTROLLER_NAME, DisruptionController, disruptionInformers } from "./controller.js";

export const disruptionController: ControllerDescriptor = {
  name: CONTROLLER_NAME,
  aliases: ["disruption"],
  informers(ctx) {
    disruptionInformers(ctx);
  },
  run(ctx, signal) {
    return runQueueController(ctx, new DisruptionController(ctx), signal);
  },
};
