/**
 * The launcher's control client against a control endpoint that wants the control token (as
 * every process but the API servers in an `up` cluster): controlTls() reads <pki>/control-token
 * and the client sends it as a bearer token, so status and fault rules work; without it the
 * answer is a 401 ControlRequestError.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultInjector, silentLogger, startControlServer, type ControlServer } from "@kubemu/common";
import { ControlRequestError, controlTls, deleteFaultRules, getControlStatus, getFaultRules, putFaultRules } from "../src/control-client.js";
import { ensureClusterPki } from "../src/pki.js";

let dir = "";
let server: ControlServer;
const faults = new FaultInjector();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kubemu-control-client-"));
  const p = await ensureClusterPki(join(dir, "pki"), new Date(), silentLogger);
  server = await startControlServer({ host: "127.1.249.2", port: 0, faults, status: () => ({ name: "scheduler-0", pid: 1 }), tokenFile: p.controlToken });
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the control client and the control token", () => {
  it("sends <pki>/control-token to plain control URLs: status and fault rules work", async () => {
    const creds = controlTls(join(dir, "pki"));
    expect(creds?.token).toMatch(/^[0-9a-f]{64}$/);
    expect((await getControlStatus(server.url, 2000, creds)).name).toBe("scheduler-0");
    await putFaultRules(server.url, [{ peer: "etcd-0", action: "drop" }], 2000, creds);
    expect((await getFaultRules(server.url, 2000, creds)).map((r) => r.peer)).toEqual(["etcd-0"]);
    await deleteFaultRules(server.url, 2000, creds);
    expect(faults.rules).toEqual([]);
  });

  it("without the token the process answers 401 and keeps its rules", async () => {
    const creds = controlTls(join(dir, "pki"))!;
    await putFaultRules(server.url, [{ peer: "etcd-1", action: "drop" }], 2000, creds);
    const err = await putFaultRules(server.url, [], 2000, { ...creds, token: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlRequestError);
    expect((err as ControlRequestError).httpStatus).toBe(401);
    await expect(getControlStatus(server.url, 2000)).rejects.toThrow(/answered 401/);
    expect(faults.rules.map((r) => r.peer)).toEqual(["etcd-1"]);
  });
});
