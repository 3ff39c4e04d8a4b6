/** What every request handler shares: clock, randomness, storage, the registry and settings. */
import type { Clock, Rng } from "@kubemu/common";
import type { Logger } from "pino";
import type { Storage, StorageFactory } from "../storage/index.js";
import type { Registry } from "../registry/registry.js";
import type { ResourceDef } from "../registry/types.js";
import type { ServiceCidr } from "../allocators/service-cidr.js";

/** Settings that depend on the timing profile (DESIGN.md). */
export interface ProfileSettings {
  /** DefaultTolerationSeconds for not-ready/unreachable NoExecute tolerations. */
  defaultTolerationSeconds: number;
}

export const PROFILE_SETTINGS: Record<"fast" | "realistic", ProfileSettings> = {
  fast: { defaultTolerationSeconds: 10 },
  realistic: { defaultTolerationSeconds: 300 },
};

export interface ServerContext {
  clock: Clock;
  rng: Rng;
  log: Logger;
  registry: Registry;
  storage: StorageFactory;
  profile: ProfileSettings;
  /** Storage of a declared resource (one per resource, cached by the factory's caller). */
  storageFor(def: ResourceDef): Storage;
  /** Admission plugins turned off (--disable-admission-plugins, upstream's names); every plugin runs when unset. */
  disabledAdmissionPlugins?: ReadonlySet<string>;
  /** The Service ClusterIP range (--service-cluster-ip-range). */
  serviceCidr: ServiceCidr;
}

/** Storage key of an object, or of a collection prefix when name is omitted (ends in "/"). */
export function keyFor(def: ResourceDef, namespace: string | undefined, name?: string): string {
  const base = def.storagePrefix ?? `/registry/${def.storageResource ?? def.plural}/`;
  if (def.namespaced) {
    if (namespace === undefined) return base; // every namespace
    return name === undefined ? `${base}${namespace}/` : `${base}${namespace}/${name}`;
  }
  return name === undefined ? base : `${base}${name}`;
}
