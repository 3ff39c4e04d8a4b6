/**
 * The control endpoint's bearer token: with a token file, /kubemu/status and /kubemu/faults answer
 * 401 (and change nothing) without `Authorization: Bearer <token>` or with a wrong one; the right
 * token works; an unreadable file refuses everything; without a file the endpoints stay open.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FaultInjector, startControlServer, type ControlServer } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "kubemu-control-auth-"));
const tokenFile = join(dir, "control-token");
writeFileSync(tokenFile, "s3cret-token\n", { mode: 0o600 });
const servers: ControlServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(file: string | undefined) {
  const faults = new FaultInjector();
  const s = await startControlServer({ host: "127.1.249.1", port: 0, faults, status: () => ({ name: "p", pid: 1 }), tokenFile: file });
  servers.push(s);
  return { s, faults };
}

const put = (url: string, headers: Record<string, string>) =>
  fetch(`${url}/kubemu/faults`, { method: "PUT", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ rules: [{ peer: "*", action: "drop" }] }) });

describe("control endpoint authentication", () => {
  it("refuses requests without the token or with a wrong one, and takes the right one", async () => {
    const { s, faults } = await start(tokenFile);
    const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong" }, { authorization: "Basic czNjcmV0LXRva2Vu" }, { authorization: "Bearer s3cret-token-and-more" }];
    for (const headers of refused) {
      const res = await put(s.url, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(((await res.json()) as { reason: string }).reason).toBe("Unauthorized");
      expect((await fetch(`${s.url}/kubemu/status`, { headers })).status).toBe(401);
      expect((await fetch(`${s.url}/kubemu/faults`, { method: "DELETE", headers })).status).toBe(401);
    }
    expect(faults.rules).toEqual([]);
    const ok = await put(s.url, { authorization: "Bearer s3cret-token" });
    expect(ok.status).toBe(200);
    expect(faults.rules).toHaveLength(1);
    expect((await fetch(`${s.url}/kubemu/status`, { headers: { authorization: "Bearer s3cret-token" } })).status).toBe(200);
  });

  it("refuses everything when the token file cannot be read", async () => {
    const { s, faults } = await start(join(dir, "missing"));
    expect((await put(s.url, { authorization: "Bearer " })).status).toBe(401);
    expect((await put(s.url, { authorization: "Bearer anything" })).status).toBe(401);
    expect(faults.rules).toEqual([]);
  });

  it("stays open without a token file (tests, benches)", async () => {
    const { s, faults } = await start(undefined);
    expect((await put(s.url, {})).status).toBe(200);
    expect(faults.rules).toHaveLength(1);
  });
});
