/**
 * The root CA publisher (upstream's root-ca-certificate-publisher-controller): namespaces added
 * or turning active, and `kube-root-ca.crt` ConfigMaps updated or deleted, queue their
 * namespace. The CA is --root-ca-file, else the CA of --ca-file (upstream falls back to its
 * client configuration's CA), else empty.
 */
import type { KubeObject } from "@kubemu/common";
import { Resources, deletedObject } from "@kubemu/common";
import { queueControllerDescriptor } from "../../controller/descriptor.js";
import { ROOT_CA_CONFIGMAP, RootCaSync } from "./sync.js";

type ConfigMap = KubeObject & { data?: Record<string, string> };

export const rootCaCertPublisherDescriptor = queueControllerDescriptor({
  name: "root-ca-certificate-publisher-controller",
  aliases: ["root-ca-cert-publisher"],
  informers: (ctx) => ({
    namespaces: ctx.informers.informerFor<KubeObject>(Resources.namespaces),
    configMaps: ctx.informers.informerFor<ConfigMap>(Resources.configMaps),
  }),
  controller(ctx, inf) {
    // With no CA (a plain-HTTP cluster) upstream publishes its client configuration's empty CA
    // data: pods' kube-api-access volumes still mount, with an empty ca.crt.
    const rootCA = ctx.options?.rootCA ?? "";
    const sync = new RootCaSync({ client: ctx.client, configMaps: inf.configMaps.lister, rootCA });
    const ours = (cm: KubeObject) => cm.metadata.name === ROOT_CA_CONFIGMAP;
    return {
      name: "root_ca_cert_publisher",
      workers: 1,
      register: (queue) => [
        inf.namespaces.addEventHandler({
          onAdd: (ns) => queue.add(ns.metadata.name!),
          onUpdate: (_o, ns) => {
            if ((ns.status as { phase?: string } | undefined)?.phase === "Active") queue.add(ns.metadata.name!);
          },
        }),
        inf.configMaps.addEventHandler(
          {
            onUpdate: (_o, cm) => {
              if (ours(cm)) queue.add(cm.metadata.namespace!);
            },
            onDelete: (d) => {
              const cm = deletedObject(d);
              if (ours(cm)) queue.add(cm.metadata.namespace!);
            },
          },
          { resync: false },
        ),
      ],
      reconcile: (ns) => sync.sync(ns),
    };
  },
});
