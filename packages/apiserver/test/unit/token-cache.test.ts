import { describe, expect, it } from "vitest";
import { FakeClock } from "@kubemu/common";
import type { UserInfo } from "../../src/http/authn.js";
import { CachedTokenAuthenticator, TOKEN_SUCCESS_TTL_MS } from "../../src/http/token-cache.js";

const user: UserInfo = { name: "system:serviceaccount:ns:sa", groups: ["system:serviceaccounts", "system:authenticated"] };

/** A token authenticator that counts its calls and can be told to refuse (the account deleted). */
function counting() {
  const state = { calls: 0, refuse: false };
  return {
    state,
    authenticate: async (): Promise<UserInfo> => {
      state.calls++;
      if (state.refuse) throw new Error("serviceaccounts sa the token names no longer exists");
      return user;
    },
  };
}

const jwt = (claims: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;

describe("CachedTokenAuthenticator", () => {
  it("checks a token once per TTL; a revoked one fails once the TTL has passed, as upstream's token cache", async () => {
    const clock = new FakeClock(1_000_000);
    const inner = counting();
    const cached = new CachedTokenAuthenticator(inner, clock);
    const token = jwt({ exp: 10_000_000 });
    for (let i = 0; i < 5; i++) expect(await cached.authenticate(token)).toEqual(user);
    expect(inner.state.calls).toBe(1);
    inner.state.refuse = true;
    clock.advance(TOKEN_SUCCESS_TTL_MS - 1);
    expect(await cached.authenticate(token)).toEqual(user);
    clock.advance(1);
    await expect(cached.authenticate(token)).rejects.toThrow(/no longer exists/);
    expect(inner.state.calls).toBe(2);
  });

  it("does not cache failures, and keeps tokens apart", async () => {
    const clock = new FakeClock(0);
    const inner = counting();
    const cached = new CachedTokenAuthenticator(inner, clock);
    inner.state.refuse = true;
    await expect(cached.authenticate("a.b.c")).rejects.toThrow();
    inner.state.refuse = false;
    expect(await cached.authenticate("a.b.c")).toEqual(user);
    expect(await cached.authenticate("x.y.z")).toEqual(user);
    expect(inner.state.calls).toBe(3);
  });

  it("never answers from the cache past the token's exp", async () => {
    const clock = new FakeClock(100_000);
    const inner = counting();
    const cached = new CachedTokenAuthenticator(inner, clock);
    const token = jwt({ exp: 103 }); // 3 s from now, inside the TTL
    await cached.authenticate(token);
    clock.advance(2_999);
    await cached.authenticate(token);
    expect(inner.state.calls).toBe(1);
    clock.advance(1);
    inner.state.refuse = true;
    await expect(cached.authenticate(token)).rejects.toThrow();
    expect(inner.state.calls).toBe(2);
  });
});
