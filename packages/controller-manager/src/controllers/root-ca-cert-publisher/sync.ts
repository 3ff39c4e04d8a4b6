/**
 * The `kube-root-ca.crt` ConfigMap in every namespace (upstream's rootcacertpublisher
 * syncNamespace): created with the cluster CA under `ca.crt` and the description annotation;
 * put back when someone deletes it or changes its data or that annotation.
 */
import type { KubeObject, Lister } from "@kubemu/common";
import { Resources, isNotFound } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { isNamespaceTerminating } from "../../controller/pod-control.js";

export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
export const DESCRIPTION_ANNOTATION = "kubernetes.io/description";
export const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
  "No other usage is guaranteed across distributions of Kubernetes clusters.";

type ConfigMap = KubeObject & { data?: Record<string, string> };

export interface RootCaSyncDeps {
  client: ControllerClient;
  configMaps: Lister<ConfigMap>;
  /** The PEM bundle published. */
  rootCA: string;
}

export class RootCaSync {
  constructor(private readonly d: RootCaSyncDeps) {}

  async sync(namespace: string): Promise<void> {
    const cm = this.d.configMaps.get(namespace, ROOT_CA_CONFIGMAP);
    const data = { "ca.crt": this.d.rootCA };
    if (!cm) {
      try {
        await this.d.client.create(Resources.configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data }, { namespace });
      } catch (e) {
        // The namespace is gone or going: nothing to publish into.
        if (isNotFound(e) || isNamespaceTerminating(e)) return;
        throw e;
      }
      return;
    }
    const keys = Object.keys(cm.data ?? {});
    if (keys.length === 1 && cm.data?.["ca.crt"] === this.d.rootCA && cm.metadata.annotations?.[DESCRIPTION_ANNOTATION]) return;
    const next: ConfigMap = { ...structuredClone(cm), data, metadata: { ...structuredClone(cm.metadata), annotations: { ...(cm.metadata.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION } } };
    await this.d.client.update(Resources.configMaps, next);
  }
}
