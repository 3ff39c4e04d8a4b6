/**
 * The DaemonSet controller: one daemon pod per eligible node, bound there by the scheduler;
 * RollingUpdate and OnDelete updates over ControllerRevisions (README: "daemonset-controller").
 */
import { queueControllerDescriptor } from "../../controller/descriptor.js";
import { CONTROLLER_NAME, DaemonSetController, daemonSetInformers } from "./controller.js";

export const daemonSetController = queueControllerDescriptor({
  name: CONTROLLER_NAME,
  aliases: ["daemonset"],
  informers: daemonSetInformers,
  controller: (ctx) => new DaemonSetController(ctx),
});
