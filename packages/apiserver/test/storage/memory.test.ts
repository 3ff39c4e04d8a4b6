/** The conformance suite against KvStorage over an in-process MvccStore (no watch cache). */
import { MvccStore } from "@kubemu/etcd-raft";
import { KvStorageFactory, MvccBackend } from "../../src/storage/index.js";
import { runStorageConformance } from "./conformance.js";

runStorageConformance("KvStorage over MvccStore", async () => {
  const factory = new KvStorageFactory({ backend: new MvccBackend(new MvccStore()), watchCache: false, compactionWindow: 0, bookmarkIntervalMs: 50 });
  return { factory, close: () => factory.close(), bookmarkIntervalMs: 50 };
});
