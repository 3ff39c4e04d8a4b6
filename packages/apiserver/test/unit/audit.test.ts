/**
 * The audit log at the Metadata level: one audit.k8s.io/v1 Event per HTTP request and per wire
 * API request (ResponseComplete), with the user, source IP, verb, requestURI, objectRef and the
 * response's code (and Status message on failure); health probes are not logged; every HTTP
 * response carries its Audit-Id. An in-process ApiServer in plain mode (its user is
 * system:unsecured) writes to a memory backend.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, silentLogger, WireClient } from "@kubemu/common";
import { MvccStore } from "@kubemu/etcd-raft";
import { ApiServer } from "../../src/apiserver.js";
import type { AuditBackend, AuditEvent } from "../../src/audit/event.js";
import { FileAuditBackend } from "../../src/audit/file-backend.js";
import { parseArgs } from "../../src/config.js";
import { KvStorageFactory, MvccBackend } from "../../src/storage/index.js";

const events: AuditEvent[] = [];
const memory: AuditBackend = { write: (e) => void events.push(e), close: () => Promise.resolve() };
let server: ApiServer;
let base = "";
let wire: WireClient;

beforeAll(async () => {
  server = new ApiServer({ name: "apiserver-audit", storage: new KvStorageFactory({ backend: new MvccBackend(new MvccStore()) }), compactionIntervalMs: 0, audit: memory, disableAdmissionPlugins: ["ServiceAccount"] });
  const addr = await server.start("127.0.0.1", 0);
  base = `http://127.0.0.1:${addr.port}`;
  wire = new WireClient({ name: "scheduler-7", endpoints: [`ws://127.0.0.1:${addr.port}/kubemu/wire`] });
});

afterAll(async () => {
  await wire.close();
  await server.stop();
});

/** The events of requests whose URI starts with prefix, waiting a moment for the response's close. */
async function eventsFor(prefix: string, n: number): Promise<AuditEvent[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = events.filter((e) => e.requestURI.startsWith(prefix));
    if (found.length >= n || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("audit events", () => {
  it("an HTTP create and a failed get: Metadata level, user, objectRef, responseStatus, Audit-Id", async () => {
    const created = await fetch(`${base}/api/v1/namespaces/default/configmaps?fieldManager=audit-test`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "audit-test/1.0" },
      body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "audited" } }),
    });
    expect(created.status).toBe(201);
    const id = created.headers.get("audit-id");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect((await fetch(`${base}/api/v1/namespaces/default/configmaps/missing`)).status).toBe(404);

    const [create, get] = await eventsFor("/api/v1/namespaces/default/configmaps", 2);
    expect(create).toMatchObject({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Metadata",
      auditID: id,
      stage: "ResponseComplete",
      requestURI: "/api/v1/namespaces/default/configmaps?fieldManager=audit-test",
      verb: "create",
      user: { username: "system:unsecured", groups: ["system:masters", "system:authenticated"] },
      sourceIPs: ["127.0.0.1"],
      userAgent: "audit-test/1.0",
      objectRef: { resource: "configmaps", namespace: "default", apiVersion: "v1" },
      responseStatus: { metadata: {}, code: 201 },
    });
    expect(Date.parse(create!.stageTimestamp)).toBeGreaterThanOrEqual(Date.parse(create!.requestReceivedTimestamp));
    expect(create!.requestReceivedTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(get).toMatchObject({
      verb: "get",
      objectRef: { resource: "configmaps", namespace: "default", name: "missing", apiVersion: "v1" },
      responseStatus: { metadata: {}, status: "Failure", reason: "NotFound", message: 'configmaps "missing" not found', code: 404 },
    });
  });

  it("list and watch verbs; probes are not logged", async () => {
    await fetch(`${base}/readyz`);
    await fetch(`${base}/healthz`);
    await (await fetch(`${base}/apis/apps/v1/deployments?limit=1`)).text();
    const [list] = await eventsFor("/apis/apps/v1/deployments", 1);
    expect(list).toMatchObject({ verb: "list", objectRef: { resource: "deployments", apiGroup: "apps", apiVersion: "v1" } });
    expect(events.some((e) => /^\/(readyz|healthz|livez)/.test(e.requestURI))).toBe(false);
  });

  it("wire API requests: the component's process name as userAgent, the REST path as requestURI, the created object's name", async () => {
    await wire.request("create", { version: "v1", resource: "configmaps", namespace: "default", body: { metadata: { name: "from-wire" } } });
    await wire.request("get", { group: "coordination.k8s.io", version: "v1", resource: "leases", namespace: "kube-system", name: "nope" }).catch(() => undefined);
    const [create] = await eventsFor("/api/v1/namespaces/default/configmaps", 3).then((es) => es.filter((e) => e.userAgent === "scheduler-7"));
    expect(create).toMatchObject({
      verb: "create",
      requestURI: "/api/v1/namespaces/default/configmaps",
      user: { username: "system:unsecured" },
      sourceIPs: ["127.0.0.1"],
      objectRef: { resource: "configmaps", namespace: "default", name: "from-wire", apiVersion: "v1" },
      responseStatus: { code: 201 },
    });
    const [get] = await eventsFor("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/nope", 1);
    expect(get).toMatchObject({ verb: "get", userAgent: "scheduler-7", objectRef: { apiGroup: "coordination.k8s.io", resource: "leases", name: "nope" }, responseStatus: { code: 404, reason: "NotFound" } });
  });
});

describe("the audit log file", () => {
  it("appends one JSON event per line, rotates at the size limit and keeps maxBackups rotated files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubemu-audit-"));
    try {
      const clock = new FakeClock(Date.parse("2026-12-03T18:00:00Z"));
      const path = join(dir, "apiserver-0.audit.log");
      const line = (i: number) => ({ ...events[0]!, auditID: `id-${i}` });
      const size = Buffer.byteLength(`${JSON.stringify(line(0))}\n`);
      const backend = new FileAuditBackend({ path, log: silentLogger, clock, maxBytes: size * 2, maxBackups: 2 });
      for (let i = 0; i < 7; i++) {
        backend.write(line(i));
        clock.advance(1000);
      }
      await backend.close();
      // 7 events, 2 per file: rotated at the 3rd, 5th and 7th write; the oldest rotated file (ids 0–1) is pruned.
      const files = readdirSync(dir).sort();
      expect(files).toEqual(["apiserver-0.audit-2026-12-03T18-00-04.000.log", "apiserver-0.audit-2026-12-03T18-00-06.000.log", "apiserver-0.audit.log"]);
      const ids = (f: string) => readFileSync(join(dir, f), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as AuditEvent).auditID);
      expect(ids("apiserver-0.audit.log")).toEqual(["id-6"]);
      expect(ids("apiserver-0.audit-2026-12-03T18-00-06.000.log")).toEqual(["id-4", "id-5"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("flags: --audit-log-path, --audit-log-maxsize, --audit-log-maxbackup", () => {
    const cfg = parseArgs(["--storage", "memory", "--audit-log-path", "/tmp/a.log", "--audit-log-maxsize", "100", "--audit-log-maxbackup", "3"]);
    expect(cfg).toMatchObject({ auditLogPath: "/tmp/a.log", auditLogMaxSizeMb: 100, auditLogMaxBackup: 3 });
    expect(parseArgs(["--storage", "memory"])).toMatchObject({ auditLogMaxSizeMb: 0, auditLogMaxBackup: 0 });
    expect(() => parseArgs(["--storage", "memory", "--audit-log-maxsize", "-1"])).toThrow(/--audit-log-maxsize must be a non-negative integer/);
  });
});
