/**
 * The kube-api-access projected volume on the node (PodVolumes): the token from TokenRequest,
 * ca.crt from kube-root-ca.crt, the namespace; the token fetched again at 80% of its life (or
 * after 24 h), kept while a refresh fails and it has not expired; a missing kube-root-ca.crt
 * fails the mount in upstream's words.
 */
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ConfigMap, Pod } from "kubernetes-types/core/v1.js";
import { PodVolumes, VolumeError, type VolumeSources } from "../src/volumes/pod-volumes.js";

const VOLUME = "kube-api-access-b4x7k";
const pod = (expirationSeconds = 3607): Pod => ({
  metadata: { name: "p", namespace: "team", uid: "uid-1" },
  spec: {
    serviceAccountName: "default",
    containers: [{ name: "c", volumeMounts: [{ name: VOLUME, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }] }],
    volumes: [
      {
        name: VOLUME,
        projected: {
          defaultMode: 0o644,
          sources: [
            { serviceAccountToken: { expirationSeconds, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
          ],
        },
      },
    ],
  },
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(p: Pod = pod()) {
  const root = mkdtempSync(join(tmpdir(), "kubemu-token-"));
  dirs.push(root);
  let now = Date.parse("2026-12-03T10:00:00Z");
  let issued = 0;
  let failing = false;
  const configMaps = new Map<string, ConfigMap>([["team/kube-root-ca.crt", { metadata: { name: "kube-root-ca.crt", namespace: "team" }, data: { "ca.crt": "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n" } }]]);
  const requests: { audience: string | undefined; expirationSeconds: number }[] = [];
  const sources: VolumeSources = {
    configMap: (ns, name) => configMaps.get(`${ns}/${name}`),
    secret: () => undefined,
    pvc: () => undefined,
    pv: () => undefined,
    token: async (_pod, audience, expirationSeconds) => {
      requests.push({ audience, expirationSeconds });
      if (failing) throw new Error("connection refused");
      issued++;
      return { token: `token-${issued}`, expiresAt: now + expirationSeconds * 1000 };
    },
    podIP: () => "127.236.1.5",
    hostIP: "127.1.223.1",
    allocatable: {},
  };
  const volumes = new PodVolumes(p, join(root, "pods"), join(root, "root"), sources, () => now);
  const file = (name: string) => readFileSync(join(volumes.hostPathOf(VOLUME)!, name), "utf8");
  return {
    volumes,
    file,
    requests,
    configMaps,
    advance: (ms: number) => (now += ms),
    fail: (v: boolean) => (failing = v),
  };
}

describe("kube-api-access on the node", () => {
  it("writes token, ca.crt and namespace", async () => {
    const s = setup();
    await s.volumes.setUp();
    expect(s.file("token")).toBe("token-1");
    expect(s.file("ca.crt")).toContain("BEGIN CERTIFICATE");
    expect(s.file("namespace")).toBe("team");
    expect(s.requests).toEqual([{ audience: undefined, expirationSeconds: 3607 }]);
  });

  it("fetches the token again once 80% of its life has passed, not before", async () => {
    const s = setup();
    await s.volumes.setUp();
    s.advance(0.79 * 3607_000);
    await s.volumes.setUp();
    expect(s.file("token")).toBe("token-1");
    s.advance(0.02 * 3607_000);
    await s.volumes.setUp();
    expect(s.file("token")).toBe("token-2");
    expect(s.requests).toHaveLength(2);
  });

  it("fetches a long-lived token again after 24 h", async () => {
    const s = setup(pod(7 * 86_400));
    await s.volumes.setUp();
    s.advance(23 * 3600_000);
    await s.volumes.setUp();
    expect(s.file("token")).toBe("token-1");
    s.advance(3600_000 + 1);
    await s.volumes.setUp();
    expect(s.file("token")).toBe("token-2");
  });

  it("keeps the old token while a refresh fails and it has not expired; then the mount fails", async () => {
    const s = setup();
    await s.volumes.setUp();
    s.fail(true);
    s.advance(0.9 * 3607_000);
    await s.volumes.setUp();
    expect(s.file("token")).toBe("token-1");
    s.advance(0.2 * 3607_000);
    const e = await s.volumes.setUp().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VolumeError);
    expect((e as Error).message).toBe(`MountVolume.SetUp failed for volume "${VOLUME}" : failed to fetch token: connection refused`);
  });

  it("a missing kube-root-ca.crt fails the mount in upstream's words", async () => {
    const s = setup();
    s.configMaps.clear();
    const e = await s.volumes.setUp().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VolumeError);
    expect((e as Error).message).toBe(`MountVolume.SetUp failed for volume "${VOLUME}" : configmap "kube-root-ca.crt" not found`);
  });
});

describe("resyncs of an unchanged volume", () => {
  it("leave the files alone (no new ..data) until the payload changes", async () => {
    const s = setup();
    await s.volumes.setUp();
    const dir = s.volumes.hostPathOf(VOLUME)!;
    const first = readlinkSync(join(dir, "..data"));
    s.advance(2000);
    await s.volumes.setUp();
    expect(readlinkSync(join(dir, "..data"))).toBe(first);
    s.configMaps.set("team/kube-root-ca.crt", { metadata: { name: "kube-root-ca.crt", namespace: "team" }, data: { "ca.crt": "NEW CA\n" } });
    s.advance(2000);
    await s.volumes.setUp();
    expect(readlinkSync(join(dir, "..data"))).not.toBe(first);
    expect(s.file("ca.crt")).toBe("NEW CA\n");
    expect(s.file("token")).toBe("token-1");
  });
});
