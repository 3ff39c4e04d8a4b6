/**
 * Legacy service account token Secrets (upstream's tokens_controller.go): a Secret of type
 * `kubernetes.io/service-account-token` naming a ServiceAccount in its
 * `kubernetes.io/service-account.name` annotation gets `token` (a signed legacy JWT),
 * `namespace` and `ca.crt` filled in, and the SA's uid annotated; such a Secret whose
 * ServiceAccount is gone is deleted, and so are all of them when their ServiceAccount is deleted.
 * Since 1.24 nothing creates these Secrets automatically: users do (`kubectl apply` of a Secret
 * with that type and annotation), as upstream documents.
 */
import type { KeyObject } from "node:crypto";
import type { KubeObject, Lister, Logger } from "@kubemu/common";
import { Resources, isConflict, isNotFound } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { aggregate } from "../../controller/aggregate.js";
import { legacyClaims, signLegacyToken } from "./jwt.js";

export const SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token";
export const SA_NAME_ANNOTATION = "kubernetes.io/service-account.name";
export const SA_UID_ANNOTATION = "kubernetes.io/service-account.uid";

export type SecretObject = KubeObject & { type?: string; data?: Record<string, string> };
export type ServiceAccountObject = KubeObject & { secrets?: { name?: string }[] };

/** What a secret-queue key carries, so a deleted Secret can still be traced to its ServiceAccount. */
export interface SecretKey {
  namespace: string;
  name: string;
  uid: string;
  saName: string;
  saUid: string;
}

export const secretKeyOf = (s: SecretObject): string =>
  JSON.stringify({ namespace: s.metadata.namespace ?? "", name: s.metadata.name ?? "", uid: s.metadata.uid ?? "", saName: s.metadata.annotations?.[SA_NAME_ANNOTATION] ?? "", saUid: s.metadata.annotations?.[SA_UID_ANNOTATION] ?? "" } satisfies SecretKey);

export const serviceAccountKeyOf = (sa: KubeObject): string => `${sa.metadata.namespace}/${sa.metadata.name}/${sa.metadata.uid ?? ""}`;

/** IsServiceAccountToken: the Secret is a token of this ServiceAccount (uid checked when annotated). */
export function isServiceAccountToken(secret: SecretObject, sa: { name: string; uid: string }): boolean {
  if (secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE) return false;
  const uid = secret.metadata.annotations?.[SA_UID_ANNOTATION];
  return secret.metadata.annotations?.[SA_NAME_ANNOTATION] === sa.name && (!uid || uid === sa.uid);
}

const decode = (v: string | undefined) => (v ? Buffer.from(v, "base64").toString("utf8") : "");
const encode = (v: string) => Buffer.from(v, "utf8").toString("base64");

export interface TokensSyncDeps {
  client: ControllerClient;
  serviceAccounts: Lister<ServiceAccountObject>;
  secrets: Lister<SecretObject>;
  signingKey: KeyObject;
  rootCA?: string;
  logger: Logger;
}

export class TokensSync {
  constructor(private readonly d: TokensSyncDeps) {}

  /** A ServiceAccount changed or went: if it is gone, its token Secrets go too. */
  async syncServiceAccount(key: string): Promise<void> {
    const [namespace, name, uid] = key.split("/") as [string, string, string];
    if (!namespace || !name || !uid) return;
    if (await this.serviceAccount(namespace, name, uid, false)) return;
    const tokens = this.d.secrets.list({ namespace }).filter((s) => isServiceAccountToken(s, { name, uid }));
    const errors: unknown[] = [];
    for (const t of tokens) {
      try {
        await this.deleteToken(namespace, t.metadata.name!, t.metadata.uid);
      } catch (e) {
        errors.push(e);
      }
    }
    const err = aggregate(errors);
    if (err) throw err;
  }

  /** A token Secret changed or went. */
  async syncSecret(key: string): Promise<void> {
    const k = JSON.parse(key) as SecretKey;
    const secret = this.cachedSecret(k.namespace, k.name, k.uid);
    if (!secret) {
      // Gone: drop the reference a ServiceAccount may still hold to it.
      if (await this.serviceAccount(k.namespace, k.saName, k.saUid, false)) await this.removeSecretReference(k);
      return;
    }
    const sa = await this.serviceAccount(k.namespace, k.saName, k.saUid, true);
    if (!sa) {
      this.d.logger.info({ secret: `${k.namespace}/${k.name}` }, "Service account does not exist, deleting token");
      await this.deleteToken(k.namespace, k.name, k.uid);
      return;
    }
    await this.generateTokenIfNeeded(sa, secret);
  }

  private cachedSecret(namespace: string, name: string, uid: string): SecretObject | undefined {
    const s = this.d.secrets.get(namespace, name);
    return s && (!uid || s.metadata.uid === uid) ? s : undefined;
  }

  /** From the cache, or (fetchOnMiss) a live read; undefined when missing or of another uid. */
  private async serviceAccount(namespace: string, name: string, uid: string, fetchOnMiss: boolean): Promise<ServiceAccountObject | undefined> {
    if (!name) return undefined;
    const cached = this.d.serviceAccounts.get(namespace, name);
    if (cached && (!uid || cached.metadata.uid === uid)) return cached;
    if (!fetchOnMiss) return undefined;
    try {
      const live = await this.d.client.get<ServiceAccountObject>(Resources.serviceAccounts, namespace, name);
      return !uid || live.metadata.uid === uid ? live : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async deleteToken(namespace: string, name: string, uid: string | undefined): Promise<void> {
    try {
      await this.d.client.delete(Resources.secrets, namespace, name, uid ? { preconditions: { uid } } : {});
    } catch (e) {
      // Already gone, or replaced by a Secret of another uid: nothing to delete.
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
  }

  private needs(secret: SecretObject): { ca: boolean; namespace: boolean; token: boolean } {
    const data = secret.data ?? {};
    return { ca: !!this.d.rootCA && decode(data["ca.crt"]) !== this.d.rootCA, namespace: !data.namespace, token: !data.token };
  }

  private async generateTokenIfNeeded(sa: ServiceAccountObject, cached: SecretObject): Promise<void> {
    const n = this.needs(cached);
    if (!n.ca && !n.namespace && !n.token) return;
    let live: SecretObject;
    try {
      live = await this.d.client.get<SecretObject>(Resources.secrets, cached.metadata.namespace, cached.metadata.name!);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    // Our cache is behind: the update event that brings it up to date queues the Secret again.
    if (live.metadata.resourceVersion !== cached.metadata.resourceVersion) return;
    const need = this.needs(live);
    if (!need.ca && !need.namespace && !need.token) return;
    const data = { ...(live.data ?? {}) };
    if (need.ca) data["ca.crt"] = encode(this.d.rootCA!);
    if (need.namespace) data.namespace = encode(live.metadata.namespace!);
    if (need.token) data.token = encode(signLegacyToken(legacyClaims(sa.metadata.namespace!, sa.metadata.name!, sa.metadata.uid ?? "", live.metadata.name!), this.d.signingKey));
    const next: SecretObject = {
      ...live,
      data,
      metadata: { ...live.metadata, annotations: { ...(live.metadata.annotations ?? {}), [SA_NAME_ANNOTATION]: sa.metadata.name!, [SA_UID_ANNOTATION]: sa.metadata.uid ?? "" } },
    };
    try {
      await this.d.client.update(Resources.secrets, next);
    } catch (e) {
      // Changed meanwhile (its update event comes round) or gone: nothing more to do now.
      if (isConflict(e) || isNotFound(e)) return;
      throw e;
    }
  }

  /** Removes a deleted Secret from the ServiceAccount's `secrets` list (a fresh read each try). */
  private async removeSecretReference(k: SecretKey): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      let sa: ServiceAccountObject;
      try {
        sa = await this.d.client.get<ServiceAccountObject>(Resources.serviceAccounts, k.namespace, k.saName);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      if (k.saUid && sa.metadata.uid !== k.saUid) return;
      if (!(sa.secrets ?? []).some((s) => s.name === k.name)) return;
      try {
        await this.d.client.update(Resources.serviceAccounts, { ...sa, secrets: (sa.secrets ?? []).filter((s) => s.name !== k.name) });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e)) throw e;
      }
    }
  }
}
