/**
 * The service account token controller (upstream's serviceaccount-token-controller): two queues,
 * one of ServiceAccounts (a deleted one takes its token Secrets along) and one of token Secrets
 * (filled in, or deleted when their ServiceAccount is gone). Started only with
 * --service-account-private-key-file, as upstream.
 */
import { Resources, deletedObject } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { idleUntilAborted } from "../../controller/idle.js";
import { runQueueController } from "../../controller/run.js";
import { SERVICE_ACCOUNT_TOKEN_TYPE, TokensSync, secretKeyOf, serviceAccountKeyOf, type SecretObject, type ServiceAccountObject } from "./sync.js";

/** kube-controller-manager's --concurrent-serviceaccount-token-syncs default. */
export const TOKEN_WORKERS = 5;

function informers(ctx: ControllerContext) {
  return {
    serviceAccounts: ctx.informers.informerFor<ServiceAccountObject>(Resources.serviceAccounts),
    secrets: ctx.informers.informerFor<SecretObject>(Resources.secrets),
  };
}

export const serviceAccountTokenControllerDescriptor: ControllerDescriptor = {
  name: "serviceaccount-token-controller",
  aliases: ["serviceaccount-token"],
  informers(ctx) {
    informers(ctx);
  },
  async run(ctx, signal) {
    const key = ctx.options?.serviceAccountPrivateKey;
    if (!key) {
      ctx.logger.warn({ controller: "serviceaccount-token-controller" }, "Controller is disabled because there is no private key (--service-account-private-key-file)");
      return idleUntilAborted(signal);
    }
    const inf = informers(ctx);
    const sync = new TokensSync({ client: ctx.client, serviceAccounts: inf.serviceAccounts.lister, secrets: inf.secrets.lister, signingKey: key, ...(ctx.options?.rootCA ? { rootCA: ctx.options.rootCA } : {}), logger: ctx.logger.child({ controller: "serviceaccount-token" }) });
    const isToken = (s: SecretObject) => s.type === SERVICE_ACCOUNT_TOKEN_TYPE;
    await Promise.all([
      runQueueController(
        ctx,
        {
          name: "serviceaccount_tokens_service",
          workers: TOKEN_WORKERS,
          register: (queue) => [
            inf.serviceAccounts.addEventHandler({
              onAdd: (sa) => queue.add(serviceAccountKeyOf(sa)),
              onUpdate: (_o, sa) => queue.add(serviceAccountKeyOf(sa)),
              onDelete: (sa) => queue.add(serviceAccountKeyOf(deletedObject(sa))),
            }),
          ],
          reconcile: (k) => sync.syncServiceAccount(k),
        },
        signal,
      ),
      runQueueController(
        ctx,
        {
          name: "serviceaccount_tokens_secret",
          workers: TOKEN_WORKERS,
          register: (queue) => [
            inf.secrets.addEventHandler({
              onAdd: (s) => {
                if (isToken(s)) queue.add(secretKeyOf(s));
              },
              onUpdate: (_o, s) => {
                if (isToken(s)) queue.add(secretKeyOf(s));
              },
              onDelete: (d) => {
                const s = deletedObject(d);
                if (isToken(s)) queue.add(secretKeyOf(s));
              },
            }),
          ],
          reconcile: (k) => sync.syncSecret(k),
        },
        signal,
      ),
    ]);
  },
};
