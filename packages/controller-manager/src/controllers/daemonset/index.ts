/**
 * The DaemonSet controller: one daemon pod per eligible node, bound there by the scheduler;
 * RollingUpdate and OnDelete updates over ControllerRevisions (README: "daemonset-controller").
 */
import type { ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import { CONTROLLER_NAME, DaemonSetController, daemonSetInformers } from "./controller.js";

export const daemonSetController: ControllerDescriptor = {
  name: CONTROLLER_NAME,
  aliases: ["daemonset"],
  informers(ctx) {
    daemonSetInformers(ctx);
  },
  run(ctx, signal) {
    return runQueueController(ctx, new DaemonSetController(ctx), signal);
  },
};
