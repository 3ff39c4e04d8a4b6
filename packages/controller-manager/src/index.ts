export { startControllerManager, LEASE_NAME, type ManagerConfig, type RunningManager } from "./server/controller-manager.js";
export { enabledControllers } from "./server/controllers-flag.js";
export { ALL_CONTROLLERS } from "./controllers/index.js";
export type { ControllerContext, ControllerDescriptor, Recorder } from "./controller/context.js";
export type { ControllerClient } from "./controller/client.js";
