import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Resources, StatusError, newStatus, silentLogger, type KubeObject } from "@kubemu/common";
import { DESCRIPTION, RootCaSync } from "../../src/controllers/root-ca-cert-publisher/sync.js";
import { ServiceAccountsSync } from "../../src/controllers/serviceaccount/sync.js";
import { keyId } from "../../src/controllers/serviceaccount-token/jwt.js";
import { TokensSync, secretKeyOf, serviceAccountKeyOf, type SecretObject } from "../../src/controllers/serviceaccount-token/sync.js";
import { FakeClient } from "../fake-client.js";

const ns = (name: string, phase = "Active"): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, uid: `uid-ns-${name}` }, status: { phase } });
const sa = (namespace: string, name = "default", uid = `uid-sa-${namespace}-${name}`): KubeObject => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace, uid, resourceVersion: "1" } });
const CA = "-----BEGIN CERTIFICATE-----\nMIIBkzCCATmgAwIBAgIUfake\n-----END CERTIFICATE-----\n";

describe("serviceaccount controller", () => {
  const setup = (namespaces: KubeObject[], sas: KubeObject[] = []) => {
    const fake = new FakeClient([
      { resource: Resources.namespaces, objects: namespaces },
      { resource: Resources.serviceAccounts, objects: sas },
    ]);
    const make = () => new ServiceAccountsSync({ client: fake, namespaces: fake.indexer(Resources.namespaces), serviceAccounts: fake.indexer(Resources.serviceAccounts) });
    return { fake, make };
  };

  it("creates default in an active namespace, and again after it is deleted", async () => {
    const { fake, make } = setup([ns("x")]);
    await make().sync("x");
    expect(fake.objects(Resources.serviceAccounts).map((s) => `${s.metadata.namespace}/${s.metadata.name}`)).toEqual(["x/default"]);
    fake.clearActions();
    await make().sync("x");
    expect(fake.writes()).toEqual([]);
    await fake.delete(Resources.serviceAccounts, "x", "default");
    await make().sync("x");
    expect(fake.objects(Resources.serviceAccounts)).toHaveLength(1);
  });

  it("leaves terminating and missing namespaces alone", async () => {
    const { fake, make } = setup([ns("going", "Terminating")]);
    await make().sync("going");
    await make().sync("nosuch");
    expect(fake.writes()).toEqual([]);
  });

  it("a create refused because the namespace is terminating is not an error", async () => {
    const { fake, make } = setup([ns("x")]);
    const err = new StatusError(
      newStatus("Forbidden", 'serviceaccounts "default" is forbidden: unable to create new content in namespace x because it is being terminated', {
        name: "default",
        kind: "serviceaccounts",
        causes: [{ reason: "NamespaceTerminating", message: "namespace x is being terminated", field: "metadata.namespace" }],
      }),
    );
    fake.failOn("create", "serviceaccounts", err);
    await expect(make().sync("x")).resolves.toBeUndefined();
    expect(fake.writes().map((a) => a.verb)).toEqual(["create"]);
  });
});

describe("root CA publisher", () => {
  const setup = (cms: KubeObject[] = []) => {
    const fake = new FakeClient([{ resource: Resources.configMaps, objects: cms }]);
    const make = () => new RootCaSync({ client: fake, configMaps: fake.indexer(Resources.configMaps), rootCA: CA });
    return { fake, make };
  };
  const cm = (fake: FakeClient) => fake.objects<KubeObject & { data?: Record<string, string> }>(Resources.configMaps).find((c) => c.metadata.name === "kube-root-ca.crt");

  it("publishes kube-root-ca.crt with ca.crt and the description", async () => {
    const { fake, make } = setup();
    await make().sync("x");
    const c = cm(fake)!;
    expect(c.metadata.namespace).toBe("x");
    expect(c.data).toEqual({ "ca.crt": CA });
    expect(c.metadata.annotations).toEqual({ "kubernetes.io/description": DESCRIPTION });
    fake.clearActions();
    await make().sync("x");
    expect(fake.writes()).toEqual([]);
  });

  it("recreates it after a delete and restores it after an edit", async () => {
    const { fake, make } = setup();
    await make().sync("x");
    await fake.delete(Resources.configMaps, "x", "kube-root-ca.crt");
    await make().sync("x");
    expect(cm(fake)!.data).toEqual({ "ca.crt": CA });
    const edited = cm(fake)!;
    await fake.update(Resources.configMaps, { ...edited, data: { "ca.crt": "tampered", extra: "x" }, metadata: { ...edited.metadata, annotations: { other: "kept" } } });
    await make().sync("x");
    const c = cm(fake)!;
    expect(c.data).toEqual({ "ca.crt": CA });
    expect(c.metadata.annotations).toEqual({ other: "kept", "kubernetes.io/description": DESCRIPTION });
  });

  it("publishes an empty ca.crt when the manager has no CA (a plain-HTTP cluster), as upstream", async () => {
    const fake = new FakeClient([{ resource: Resources.configMaps, objects: [] }]);
    await new RootCaSync({ client: fake, configMaps: fake.indexer(Resources.configMaps), rootCA: "" }).sync("x");
    expect(cm(fake)!.data).toEqual({ "ca.crt": "" });
  });
});

describe("service account token controller", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const tokenSecret = (over: Partial<SecretObject["metadata"]> = {}, data?: Record<string, string>): SecretObject => ({
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/service-account-token",
    metadata: { name: "build-robot-secret", namespace: "x", uid: "uid-secret", resourceVersion: "3", annotations: { "kubernetes.io/service-account.name": "build-robot" }, ...over },
    ...(data ? { data } : {}),
  });
  const setup = (sas: KubeObject[], secrets: KubeObject[]) => {
    const fake = new FakeClient([
      { resource: Resources.serviceAccounts, objects: sas },
      { resource: Resources.secrets, objects: secrets },
    ]);
    const make = () => new TokensSync({ client: fake, serviceAccounts: fake.indexer(Resources.serviceAccounts), secrets: fake.indexer(Resources.secrets), signingKey: privateKey, rootCA: CA, logger: silentLogger });
    return { fake, make };
  };
  const secretOf = (fake: FakeClient) => fake.objects<SecretObject>(Resources.secrets)[0];

  it("fills token, ca.crt and namespace, and annotates the uid; the token is an ES256 legacy JWT with the key's kid", async () => {
    const account = sa("x", "build-robot", "uid-robot");
    const { fake, make } = setup([account], [tokenSecret()]);
    await make().syncSecret(secretKeyOf(tokenSecret()));
    const s = secretOf(fake)!;
    expect(s.metadata.annotations).toEqual({ "kubernetes.io/service-account.name": "build-robot", "kubernetes.io/service-account.uid": "uid-robot" });
    expect(Buffer.from(s.data!["ca.crt"]!, "base64").toString()).toBe(CA);
    expect(Buffer.from(s.data!.namespace!, "base64").toString()).toBe("x");
    const token = Buffer.from(s.data!.token!, "base64").toString();
    const [h, p, sig] = token.split(".") as [string, string, string];
    expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({ alg: "ES256", kid: keyId(createPublicKey(privateKey)) });
    expect(JSON.parse(Buffer.from(p, "base64url").toString())).toEqual({
      iss: "kubernetes/serviceaccount",
      "kubernetes.io/serviceaccount/namespace": "x",
      "kubernetes.io/serviceaccount/secret.name": "build-robot-secret",
      "kubernetes.io/serviceaccount/service-account.name": "build-robot",
      "kubernetes.io/serviceaccount/service-account.uid": "uid-robot",
      sub: "system:serviceaccount:x:build-robot",
    });
    expect(verify("sha256", Buffer.from(`${h}.${p}`), { key: createPublicKey(privateKey), dsaEncoding: "ieee-p1363" }, Buffer.from(sig, "base64url"))).toBe(true);
    fake.clearActions();
    await make().syncSecret(secretKeyOf(s));
    expect(fake.writes()).toEqual([]);
  });

  it("deletes a token Secret whose ServiceAccount does not exist", async () => {
    const { fake, make } = setup([], [tokenSecret()]);
    await make().syncSecret(secretKeyOf(tokenSecret()));
    expect(fake.writes().map((a) => `${a.verb} ${a.name}`)).toEqual(["delete build-robot-secret"]);
    expect(fake.objects(Resources.secrets)).toEqual([]);
  });

  it("deletes the tokens of a deleted ServiceAccount, and no other Secrets", async () => {
    const gone = sa("x", "build-robot", "uid-robot");
    const other: SecretObject = { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name: "plain", namespace: "x", annotations: { "kubernetes.io/service-account.name": "build-robot" } } };
    const { fake, make } = setup([], [tokenSecret({ annotations: { "kubernetes.io/service-account.name": "build-robot", "kubernetes.io/service-account.uid": "uid-robot" } }), other]);
    await make().syncServiceAccount(serviceAccountKeyOf(gone));
    expect(fake.objects(Resources.secrets).map((s) => s.metadata.name)).toEqual(["plain"]);
  });

  it("skips a Secret the cache shows at an older version than the API", async () => {
    const { fake } = setup([sa("x", "build-robot", "uid-robot")], [tokenSecret()]);
    const stale = { ...tokenSecret(), metadata: { ...tokenSecret().metadata, resourceVersion: "2" } };
    const secrets = fake.indexer<SecretObject>(Resources.secrets);
    secrets.set(stale);
    const sync = new TokensSync({ client: fake, serviceAccounts: fake.indexer(Resources.serviceAccounts), secrets, signingKey: privateKey, logger: silentLogger });
    await sync.syncSecret(secretKeyOf(stale));
    expect(fake.writes()).toEqual([]);
  });
});
