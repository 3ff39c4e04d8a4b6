import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FakeClock, newNotFound, toStatus } from "@kubemu/common";
import { InvalidTokenError, ServiceAccountTokens, signToken, verifyToken, type ObjectLookup } from "../../src/serviceaccount/index.js";
import type { KubeObject } from "../../src/storage/index.js";

const ISSUER = "https://kubernetes.default.svc.cluster.local";
const ec = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;

function setup() {
  const clock = new FakeClock(Date.parse("2026-03-01T00:00:00Z"));
  const objects = new Map<string, KubeObject>();
  const put = (resource: string, ns: string | undefined, name: string, uid: string, extra: Partial<KubeObject["metadata"]> = {}) =>
    objects.set(`${resource}/${ns ?? ""}/${name}`, { metadata: { name, uid, ...(ns ? { namespace: ns } : {}), ...extra } });
  const lookup: ObjectLookup = async (resource, ns, name) => {
    const o = objects.get(`${resource}/${ns ?? ""}/${name}`);
    if (!o) throw newNotFound({ resource }, name);
    return o;
  };
  const key = ec();
  const tokens = new ServiceAccountTokens({ signingKey: key, publicKeys: [createPublicKey(key)], issuer: ISSUER, audiences: [ISSUER], clock, lookup });
  put("serviceaccounts", "default", "robot", "sa-uid-1");
  return { clock, tokens, put, objects, key };
}
const tokenOf = (o: KubeObject) => (o.status as { token: string }).token;

describe("service account tokens", () => {
  it("issues a token for an existing service account that authenticates as it, with upstream's claims", async () => {
    const { tokens } = setup();
    const tr = await tokens.request("default", "robot", { spec: {} });
    expect(tr).toMatchObject({
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: "robot", namespace: "default" },
      spec: { audiences: [ISSUER], expirationSeconds: 3600, boundObjectRef: null },
      status: { expirationTimestamp: "2026-03-01T01:00:00Z" },
    });
    const [header, payload] = tokenOf(tr).split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: "ES256" });
    expect(payload).toMatchObject({ iss: ISSUER, sub: "system:serviceaccount:default:robot", aud: [ISSUER], "kubernetes.io": { namespace: "default", serviceaccount: { name: "robot", uid: "sa-uid-1" } } });
    expect(await tokens.authenticate(tokenOf(tr))).toEqual({
      name: "system:serviceaccount:default:robot",
      groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
    });
  });

  it("stops authenticating at expiry, when the account is deleted or recreated, and when its bound pod goes", async () => {
    const { tokens, clock, put, objects } = setup();
    const t = tokenOf(await tokens.request("default", "robot", { spec: { expirationSeconds: 600 } }));
    clock.advance(599_000);
    await expect(tokens.authenticate(t)).resolves.toBeDefined();
    clock.advance(1_000);
    await expect(tokens.authenticate(t)).rejects.toThrow(/expired/);

    const t2 = tokenOf(await tokens.request("default", "robot", {}));
    put("serviceaccounts", "default", "robot", "sa-uid-2");
    await expect(tokens.authenticate(t2)).rejects.toThrow(/recreated/);
    objects.delete("serviceaccounts/default/robot");
    await expect(tokens.authenticate(t2)).rejects.toBeInstanceOf(InvalidTokenError);

    put("serviceaccounts", "default", "robot", "sa-uid-3");
    put("pods", "default", "web-0", "pod-uid-1");
    const bound = tokenOf(await tokens.request("default", "robot", { spec: { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web-0", uid: "pod-uid-1" } } }));
    await expect(tokens.authenticate(bound)).resolves.toBeDefined();
    // A terminating pod (deletionTimestamp = now + grace) keeps its token until a minute past it, as upstream's leeway.
    put("pods", "default", "web-0", "pod-uid-1", { deletionTimestamp: "2026-03-01T00:10:30Z" });
    await expect(tokens.authenticate(bound)).resolves.toBeDefined();
    clock.advance(90_000);
    await expect(tokens.authenticate(bound)).resolves.toBeDefined();
    clock.advance(1_000);
    await expect(tokens.authenticate(bound)).rejects.toThrow(/being deleted/);
  });

  it("extends a pod-bound 3607 s token for the API's audiences to a year, warning after 3607 s (--service-account-extend-token-expiration)", async () => {
    const { tokens, clock, put } = setup();
    put("pods", "default", "web-0", "pod-uid-1");
    const podRef = { kind: "Pod", apiVersion: "v1", name: "web-0", uid: "pod-uid-1" };
    const claimsOf = (t: string) => JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString()) as { exp: number; iat: number; "kubernetes.io": { warnafter?: number } };
    const tr = await tokens.request("default", "robot", { spec: { expirationSeconds: 3607, boundObjectRef: podRef } });
    expect((tr.status as { expirationTimestamp: string }).expirationTimestamp).toBe("2026-03-01T01:00:07Z");
    const c = claimsOf(tokenOf(tr));
    expect(c.exp - c.iat).toBe(365 * 24 * 3600);
    expect(c["kubernetes.io"].warnafter).toBe(c.iat + 3607);
    clock.advance(2 * 3600_000);
    await expect(tokens.authenticate(tokenOf(tr))).resolves.toBeDefined();
    // Not extended: another lifetime, no pod binding, or an audience of someone else's.
    for (const spec of [{ expirationSeconds: 3600, boundObjectRef: podRef }, { expirationSeconds: 3607 }, { expirationSeconds: 3607, boundObjectRef: podRef, audiences: ["vault"] }]) {
      const other = claimsOf(tokenOf(await tokens.request("default", "robot", { spec })));
      expect(other.exp - other.iat).toBe(spec.expirationSeconds);
      expect(other["kubernetes.io"].warnafter).toBeUndefined();
    }
  });

  it("rejects tokens from another key, issuer or audience, and tampered ones", async () => {
    const { tokens, clock } = setup();
    const now = Math.floor(clock.now() / 1000);
    const claims = { iss: ISSUER, sub: "system:serviceaccount:default:robot", aud: [ISSUER], exp: now + 600, iat: now, nbf: now, jti: "x", "kubernetes.io": { namespace: "default", serviceaccount: { name: "robot", uid: "sa-uid-1" } } };
    await expect(tokens.authenticate(signToken(claims, ec()))).rejects.toThrow(/signature/);
    const good = tokenOf(await tokens.request("default", "robot", {}));
    const [h, p, s] = good.split(".");
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), sub: "system:admin" })).toString("base64url");
    await expect(tokens.authenticate(`${h}.${forged}.${s}`)).rejects.toThrow(/signature/);
    await expect(tokens.authenticate("not-a-jwt")).rejects.toThrow(/compact JWS/);
    const other = tokenOf(await tokens.request("default", "robot", { spec: { audiences: ["vault"] } }));
    await expect(tokens.authenticate(other)).rejects.toThrow(/audiences/);
  });

  it("verifies RS256 tokens signed with RSA keys too", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const claims = { iss: ISSUER, sub: "s", aud: [ISSUER], exp: 2000, iat: 1000, nbf: 1000, jti: "j", "kubernetes.io": { namespace: "n", serviceaccount: { name: "s", uid: "u" } } };
    expect(verifyToken(signToken(claims, rsa), [createPublicKey(rsa)], 1500)).toEqual(claims);
  });

  it("validates the TokenRequest as 422 with field paths, and 404s for a missing account", async () => {
    const { tokens } = setup();
    const invalid = async (spec: unknown) => {
      try {
        await tokens.request("default", "robot", { spec });
      } catch (e) {
        return toStatus(e);
      }
      throw new Error("accepted");
    };
    expect(await invalid({ expirationSeconds: 60 })).toMatchObject({ code: 422, message: 'TokenRequest.authentication.k8s.io "robot" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes' });
    expect((await invalid({ boundObjectRef: { kind: "Deployment", name: "x" } })).details?.causes?.[0]).toMatchObject({ field: "spec.boundObjectRef.kind" });
    expect((await invalid({ audiences: [""] })).details?.causes?.[0]).toMatchObject({ field: "spec.audiences" });
    await expect(tokens.request("default", "nosuch", {})).rejects.toThrow('serviceaccounts "nosuch" not found');
    await expect(tokens.request("default", "robot", { spec: { boundObjectRef: { kind: "Pod", name: "gone" } } })).rejects.toThrow('pods "gone" not found');
  });
});

describe("legacy service account tokens (Secret-held, signed by the controller-manager)", () => {
  const legacy = (secretName: string, saUid = "sa-uid-1") => ({
    iss: "kubernetes/serviceaccount",
    "kubernetes.io/serviceaccount/namespace": "default",
    "kubernetes.io/serviceaccount/secret.name": secretName,
    "kubernetes.io/serviceaccount/service-account.name": "robot",
    "kubernetes.io/serviceaccount/service-account.uid": saUid,
    sub: "system:serviceaccount:default:robot",
  });
  const holdIn = (objects: Map<string, KubeObject>, name: string, token: string, extra: Partial<KubeObject["metadata"]> = {}) =>
    objects.set(`secrets/default/${name}`, { metadata: { name, namespace: "default", uid: `uid-${name}`, ...extra }, data: { token: Buffer.from(token).toString("base64") } } as KubeObject);

  it("authenticate without expiry or audience while their Secret holds exactly them and the account is the same", async () => {
    const { tokens, objects, key, clock, put } = setup();
    const t = signToken(legacy("robot-token") as never, key);
    holdIn(objects, "robot-token", t);
    clock.advance(400 * 24 * 3600_000);
    expect(await tokens.authenticate(t)).toEqual({ name: "system:serviceaccount:default:robot", groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"] });

    holdIn(objects, "robot-token", t + "x");
    await expect(tokens.authenticate(t)).rejects.toThrow(/different token/);
    holdIn(objects, "robot-token", t, { deletionTimestamp: "2026-03-01T00:00:00Z" });
    await expect(tokens.authenticate(t)).rejects.toThrow(/being deleted/);
    objects.delete("secrets/default/robot-token");
    await expect(tokens.authenticate(t)).rejects.toThrow(/no longer exists/);

    holdIn(objects, "robot-token", t);
    put("serviceaccounts", "default", "robot", "sa-uid-2");
    await expect(tokens.authenticate(t)).rejects.toThrow(/recreated/);
  });

  it("refuse a legacy token signed by another key or with claims that disagree", async () => {
    const { tokens, objects, key } = setup();
    const other = signToken(legacy("robot-token") as never, ec());
    holdIn(objects, "robot-token", other);
    await expect(tokens.authenticate(other)).rejects.toThrow(/signature/);
    const bad = signToken({ ...legacy("robot-token"), sub: "system:serviceaccount:default:admin" } as never, key);
    holdIn(objects, "robot-token", bad);
    await expect(tokens.authenticate(bad)).rejects.toThrow(/subject/);
  });
});
