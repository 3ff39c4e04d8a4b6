import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "@kubemu/common";
import { ensureClusterPki } from "../src/pki.js";
import { nodeCertPaths } from "../src/node-certs.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("kubelet client certificates", () => {
  it("one per node: system:node:<node> in system:nodes, signed by the cluster CA", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubemu-node-pki-"));
    dirs.push(dir);
    const p = await ensureClusterPki(dir, new Date(), silentLogger, ["kubemu", "kubemu-m02"]);
    const ca = new X509Certificate(readFileSync(p.caCert));
    for (const node of ["kubemu", "kubemu-m02"]) {
      const cert = new X509Certificate(readFileSync(nodeCertPaths(dir, node).cert));
      expect(cert.subject).toContain(`CN=system:node:${node}`);
      expect(cert.subject).toContain("O=system:nodes");
      expect(cert.verify(ca.publicKey)).toBe(true);
    }
  });
});
