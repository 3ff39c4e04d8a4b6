/**
 * The taint eviction controller (upstream's taint-eviction-controller): pods that do not
 * tolerate a node's NoExecute taints are deleted, at once or when their tolerationSeconds run
 * out (README: "taint-eviction-controller").
 */
import type { ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import { CONTROLLER_NAME, TaintEvictionController, taintEvictionInformers } from "./controller.js";

export const taintEvictionController: ControllerDescriptor = {
  name: CONTROLLER_NAME,
  aliases: [],
  informers(ctx) {
    taintEvictionInformers(ctx);
  },
  run(ctx, signal) {
    return runQueueController(ctx, new TaintEvictionController(ctx), signal);
  },
};
