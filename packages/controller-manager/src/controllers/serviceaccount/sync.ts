/**
 * The `default` ServiceAccount in every active namespace (upstream's ServiceAccountsController
 * syncNamespace): created when missing, again after it is deleted; namespaces that are
 * terminating or gone are skipped.
 */
import type { KubeObject, Lister } from "@kubemu/common";
import { Resources, isAlreadyExists } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { isNamespaceTerminating } from "../../controller/pod-control.js";
import { aggregate } from "../../controller/aggregate.js";

/** The ServiceAccounts every namespace gets (kube-controller-manager's default list). */
export const SERVICE_ACCOUNTS_TO_ENSURE = ["default"] as const;

export interface ServiceAccountsSyncDeps {
  client: ControllerClient;
  namespaces: Lister<KubeObject>;
  serviceAccounts: Lister<KubeObject>;
}

export class ServiceAccountsSync {
  constructor(private readonly d: ServiceAccountsSyncDeps) {}

  async sync(namespace: string): Promise<void> {
    const ns = this.d.namespaces.get(undefined, namespace);
    if (!ns) return;
    if ((ns.status as { phase?: string } | undefined)?.phase !== "Active") return;
    const failures: unknown[] = [];
    for (const name of SERVICE_ACCOUNTS_TO_ENSURE) {
      if (this.d.serviceAccounts.get(namespace, name)) continue;
      try {
        await this.d.client.create(Resources.serviceAccounts, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } }, { namespace });
      } catch (e) {
        if (isAlreadyExists(e) || isNamespaceTerminating(e)) continue;
        failures.push(e);
      }
    }
    const err = aggregate(failures);
    if (err) throw err;
  }
}
