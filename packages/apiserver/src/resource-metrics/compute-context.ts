/**
 * The ComputeContext the API server hands computed kinds: stored objects from the watch cache
 * (resourceVersion 0, as listers read) and kubelet GETs dialled as logs and exec dial them.
 */
import type { Node } from "kubernetes-types/core/v1.js";
import type { Clock } from "@kubemu/common";
import type { Registry } from "../registry/registry.js";
import type { ComputeContext } from "../registry/types.js";
import type { ResourceStore } from "../rest/store.js";
import type { KubeletClient } from "../handlers/kubelet-client.js";
import { kubeletAddress } from "../handlers/pod-log.js";

/** How long one kubelet may take to answer; a slow node is left out, as a metrics-server scrape that times out. */
const KUBELET_TIMEOUT_MS = 5000;
/** A Summary is a few kilobytes per pod; anything far larger is not one. */
const MAX_ANSWER_BYTES = 16 << 20;

export function computeContext(store: ResourceStore, registry: Registry, kubelet: KubeletClient, clock: Clock): ComputeContext {
  return {
    list: async (group, version, plural) => {
      const def = registry.lookup(group, version, plural);
      if (!def) throw new Error(`no resource ${group}/${version}/${plural}`);
      return (await store.list(def, undefined, { resourceVersion: "0" })).items;
    },
    now: () => new Date(clock.now()),
    kubeletJson: (node, path) => {
      const { host, port } = kubeletAddress(node as Node);
      return new Promise<unknown>((resolve, reject) => {
        const req = kubelet.request({ host, port, path, method: "GET", headers: { accept: "application/json" }, timeout: KUBELET_TIMEOUT_MS }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) req.destroy(new Error("kubelet answer too large"));
            else chunks.push(c);
          });
          res.on("error", reject);
          res.on("end", () => {
            const code = res.statusCode ?? 500;
            if (code < 200 || code > 299) return reject(new Error(`kubelet ${host}:${port}${path} answered ${code}`));
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
            } catch (e) {
              reject(e as Error);
            }
          });
        });
        req.on("timeout", () => req.destroy(new Error(`kubelet ${host}:${port} did not answer in ${KUBELET_TIMEOUT_MS} ms`)));
        req.on("error", reject);
        req.end();
      });
    },
  };
}
