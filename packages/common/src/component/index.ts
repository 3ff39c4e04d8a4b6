export { TIMING_PROFILES, profileNames, type ProfileName, type TimingProfile } from "./profile.js";
export { startComponentServer, type ComponentServer, type ComponentServerOptions, type GuardAnswer, type HealthCheck } from "./server.js";
export { FlagError, componentCommand, parseComponentFlags, parseDuration, wireEndpoint, type ComponentConfig } from "./flags.js";
export { ElectedComponent, type ElectedOptions, type ElectionStatus } from "./elected.js";
export { startElectedProcess, type ElectedProcess, type ElectedProcessOptions } from "./elected-process.js";
