/** The client of a kubemu-etcd cluster. */
export { EtcdClient, type EtcdClientOptions } from "./client.js";
export { EtcdWatch, type WatchOptions as EtcdWatchOptions, type WatchResponse } from "./watch.js";
