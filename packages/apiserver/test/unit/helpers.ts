/** An in-process API server store over the in-memory MVCC backend (the real storage code). */
import { FakeClock, SeededRng, silentLogger, StatusError } from "@kubemu/common";
import { MvccStore } from "@kubemu/etcd-raft";
import { KvStorageFactory, MvccBackend } from "../../src/storage/index.js";
import { builtinRegistry } from "../../src/registry/registry.js";
import { PROFILE_SETTINGS, type ServerContext } from "../../src/rest/context.js";
import { ResourceStore } from "../../src/rest/store.js";
import type { ResourceDef } from "../../src/registry/types.js";
import type { Storage } from "../../src/storage/index.js";
import { bootstrap } from "../../src/bootstrap.js";
import { DEFAULT_SERVICE_CIDR, ServiceCidr } from "../../src/allocators/service-cidr.js";

/**
 * serviceAccountAdmission: run the ServiceAccount admission plugin (off by default, as in
 * upstream's integration tests: no controller-manager creates the `default` accounts here).
 */
export async function newStore(o: { serviceAccountAdmission?: boolean; serviceCidr?: string } = {}): Promise<{ store: ResourceStore; ctx: ServerContext; clock: FakeClock; def: (g: string, r: string) => ResourceDef; factory: KvStorageFactory }> {
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const factory = new KvStorageFactory({ backend: new MvccBackend(new MvccStore()), watchCache: false });
  const registry = builtinRegistry();
  const storages = new Map<ResourceDef, Storage>();
  const ctx: ServerContext = {
    clock,
    rng: new SeededRng(7),
    log: silentLogger,
    registry,
    storage: factory,
    profile: PROFILE_SETTINGS.fast,
    serviceCidr: ServiceCidr.parse(o.serviceCidr ?? DEFAULT_SERVICE_CIDR) as ServiceCidr,
    ...(o.serviceAccountAdmission ? {} : { disabledAdmissionPlugins: new Set(["ServiceAccount"]) }),
    storageFor: (d) => {
      let s = storages.get(d);
      if (!s) storages.set(d, (s = factory.forResource({ ...(d.group ? { group: d.group } : {}), resource: d.storageResource ?? d.plural })));
      return s;
    },
  };
  const store = new ResourceStore(ctx);
  await bootstrap(store, registry, 6443, ctx.serviceCidr.kubernetesServiceIp);
  const def = (g: string, r: string) => {
    const d = registry.resources.find((x) => x.group === g && x.plural === r);
    if (!d) throw new Error(`no ${g}/${r}`);
    return d;
  };
  return { store, ctx, clock, def, factory };
}

/** The StatusError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function failure(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error("expected a failure");
}
