export * from "./clock.js";
export * from "./rng.js";
export * from "./status.js";
export * from "./logger.js";
export * from "./wire/index.js";
export * from "./pki.js";
export * from "./process-main.js";
