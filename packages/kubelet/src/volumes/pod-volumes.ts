/**
 * A pod's volumes on the node (upstream's volume manager and plugins, as far as a single machine
 * goes), under <root>/kubelet/pods/<uid>/volumes/<plugin>/<name>:
 * - emptyDir: a directory (medium Memory: under /dev/shm, a tmpfs);
 * - hostPath: a path under the node's own root directory (<root>/root/<path>), types checked;
 * - configMap, secret, downwardAPI, projected: files written with the AtomicWriter, rewritten on
 *   every refresh when their sources changed; missing sources fail the mount with upstream's
 *   words unless optional; projected serviceAccountToken comes from the TokenRequest API;
 * - persistentVolumeClaim: the bound PV's hostPath or local path (under the node's root).
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, normalize } from "node:path";
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Volume } from "kubernetes-types/core/v1.js";
import { containerResourceValue, podFieldValue } from "../pod/downward.js";
import { writeAtomically, type Payload } from "./atomic-writer.js";

export class VolumeError extends Error {
  constructor(
    readonly volume: string,
    message: string,
  ) {
    super(message);
    this.name = "VolumeError";
  }
}

export interface VolumeSources {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
  pvc(namespace: string, name: string): PersistentVolumeClaim | undefined;
  pv(name: string): PersistentVolume | undefined;
  /** A service account token (TokenRequest), bound to the pod. */
  token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<{ token: string; expiresAt: number }>;
  podIP: () => string;
  hostIP: string;
  allocatable: Record<string, string>;
}

const DEFAULT_MODE = 0o644;
/** A projected token is fetched again at least this often, however long it lives. */
const TOKEN_MAX_TTL_MS = 24 * 3600 * 1000;

/** hostPath (and PV paths) live under the node's own root: the node sees its own file system. */
export function nodeHostPath(nodeRoot: string, path: string): string {
  if (!path.startsWith("/")) throw new Error(`hostPath "${path}" must be an absolute path`);
  if (path.split("/").includes("..")) throw new Error(`hostPath "${path}" must not contain '..'`);
  return join(nodeRoot, normalize(path));
}

function pluginDir(v: Volume): string | undefined {
  if (v.emptyDir) return "kubernetes.io~empty-dir";
  if (v.configMap) return "kubernetes.io~configmap";
  if (v.secret) return "kubernetes.io~secret";
  if (v.downwardAPI) return "kubernetes.io~downward-api";
  if (v.projected) return "kubernetes.io~projected";
  return undefined;
}

interface KeyItem {
  key: string;
  path: string;
  mode?: number;
}

function keyedPayload(kind: "configmap" | "secret", data: Record<string, Buffer>, items: KeyItem[] | undefined, defaultMode: number, optional: boolean): Payload {
  const out: Payload = {};
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) out[k] = { data: v, mode: defaultMode };
    return out;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new Error(kind === "configmap" ? `configmap references non-existent config key: ${it.key}` : `references non-existent secret key: ${it.key}`);
    }
    out[it.path] = { data: v, mode: it.mode ?? defaultMode };
  }
  return out;
}

const utf8 = (s: string) => Buffer.from(s, "utf8");
const b64 = (s: string) => Buffer.from(s, "base64");

function configMapData(cm: ConfigMap): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = utf8(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = b64(v);
  return out;
}

function secretData(s: Secret): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, b64(v)]));
}

export class PodVolumes {
  readonly dir: string;
  private readonly paths = new Map<string, string>();
  /** Volume dir → the payload last written there. */
  private readonly written = new Map<string, Payload>();
  /** Token files: when each was fetched and when it expires. */
  private readonly tokens = new Map<string, { token: string; fetchedAt: number; expiresAt: number }>();

  constructor(
    private pod: Pod,
    podsDir: string,
    private readonly nodeRoot: string,
    private readonly sources: VolumeSources,
    private readonly now: () => number,
  ) {
    this.dir = join(podsDir, pod.metadata!.uid!);
  }

  /** The host path backing a volume (after setUp). */
  hostPathOf(volume: string): string | undefined {
    return this.paths.get(volume);
  }

  /** Sets up every volume; the first failure throws a VolumeError. Called again until it succeeds, and on every refresh. */
  async setUp(pod: Pod = this.pod): Promise<void> {
    this.pod = pod;
    mkdirSync(join(this.dir, "volumes"), { recursive: true });
    for (const v of pod.spec?.volumes ?? []) {
      try {
        await this.setUpOne(v);
      } catch (e) {
        if (e instanceof VolumeError) throw e;
        throw new VolumeError(v.name, `MountVolume.SetUp failed for volume "${v.name}" : ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  private async setUpOne(v: Volume): Promise<void> {
    const ns = this.pod.metadata?.namespace ?? "default";
    const plugin = pluginDir(v);
    const dir = plugin ? join(this.dir, "volumes", plugin, v.name) : undefined;
    if (v.emptyDir) {
      const path = v.emptyDir.medium === "Memory" && existsSync("/dev/shm") ? join("/dev/shm", "kubemu", this.pod.metadata!.uid!, v.name) : dir!;
      mkdirSync(path, { recursive: true, mode: 0o777 });
      this.paths.set(v.name, path);
      return;
    }
    if (v.hostPath) {
      const path = nodeHostPath(this.nodeRoot, v.hostPath.path);
      this.checkHostPath(v.hostPath.path, path, v.hostPath.type ?? "");
      this.paths.set(v.name, path);
      return;
    }
    if (v.persistentVolumeClaim) {
      const claim = v.persistentVolumeClaim.claimName;
      const pvc = this.sources.pvc(ns, claim);
      if (!pvc) throw new Error(`persistentvolumeclaim "${claim}" not found`);
      const pvName = pvc.spec?.volumeName;
      if (!pvName || pvc.status?.phase !== "Bound") throw new Error(`PVC ${ns}/${claim} is not bound`);
      const pv = this.sources.pv(pvName);
      const raw = pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path;
      if (!raw) throw new Error(`persistentvolume "${pvName}" has no hostPath or local path kubemu can mount`);
      const path = nodeHostPath(this.nodeRoot, raw);
      mkdirSync(path, { recursive: true });
      this.paths.set(v.name, path);
      return;
    }
    if (!dir) throw new Error(`volume type not supported by kubemu's kubelet`);
    const payload = await this.payload(v, ns);
    // Every resync builds the payload again; one equal to what this kubelet last wrote there is
    // not compared with the disk again (that check, async, cost ~2 ms of CPU per volume).
    if (!samePayload(this.written.get(dir), payload)) {
      await writeAtomically(dir, payload, new Date(this.now()), (this.now() % 1000) * 1_000_000);
      this.written.set(dir, payload);
    }
    this.paths.set(v.name, dir);
  }

  private checkHostPath(raw: string, path: string, type: string): void {
    const st = existsSync(path) ? statSync(path) : undefined;
    switch (type) {
      case "DirectoryOrCreate":
        if (!st) mkdirSync(path, { recursive: true, mode: 0o755 });
        else if (!st.isDirectory()) throw new Error(`hostPath type check failed: ${raw} is not a directory`);
        return;
      case "Directory":
        if (!st?.isDirectory()) throw new Error(`hostPath type check failed: ${raw} is not a directory`);
        return;
      case "FileOrCreate":
        if (!st) {
          mkdirSync(join(path, ".."), { recursive: true });
          writeFileSync(path, "", { mode: 0o644 });
        } else if (!st.isFile()) throw new Error(`hostPath type check failed: ${raw} is not a file`);
        return;
      case "File":
        if (!st?.isFile()) throw new Error(`hostPath type check failed: ${raw} is not a file`);
        return;
      case "Socket":
        if (!st?.isSocket()) throw new Error(`hostPath type check failed: ${raw} is not a socket file`);
        return;
      case "CharDevice":
        if (!st?.isCharacterDevice()) throw new Error(`hostPath type check failed: ${raw} is not a character device`);
        return;
      case "BlockDevice":
        if (!st?.isBlockDevice()) throw new Error(`hostPath type check failed: ${raw} is not a block device`);
        return;
      default:
        // Unset type: no check; the path is made (as a directory) so a bind has something to bind.
        if (!st) mkdirSync(path, { recursive: true, mode: 0o755 });
    }
  }

  private async payload(v: Volume, ns: string): Promise<Payload> {
    if (v.configMap) {
      const name = v.configMap.name ?? "";
      const cm = this.sources.configMap(ns, name);
      const optional = v.configMap.optional === true;
      if (!cm) {
        if (optional) return {};
        throw new Error(`configmap "${name}" not found`);
      }
      return keyedPayload("configmap", configMapData(cm), v.configMap.items as KeyItem[] | undefined, v.configMap.defaultMode ?? DEFAULT_MODE, optional);
    }
    if (v.secret) {
      const name = v.secret.secretName ?? "";
      const s = this.sources.secret(ns, name);
      const optional = v.secret.optional === true;
      if (!s) {
        if (optional) return {};
        throw new Error(`secret "${name}" not found`);
      }
      return keyedPayload("secret", secretData(s), v.secret.items as KeyItem[] | undefined, v.secret.defaultMode ?? DEFAULT_MODE, optional);
    }
    if (v.downwardAPI) return this.downwardPayload(v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? DEFAULT_MODE);
    if (v.projected) {
      const mode = v.projected.defaultMode ?? DEFAULT_MODE;
      const out: Payload = {};
      for (const src of v.projected.sources ?? []) {
        if (src.configMap) {
          const cm = this.sources.configMap(ns, src.configMap.name ?? "");
          if (!cm) {
            if (src.configMap.optional) continue;
            throw new Error(`configmap "${src.configMap.name}" not found`);
          }
          Object.assign(out, keyedPayload("configmap", configMapData(cm), src.configMap.items as KeyItem[] | undefined, mode, src.configMap.optional === true));
        } else if (src.secret) {
          const s = this.sources.secret(ns, src.secret.name ?? "");
          if (!s) {
            if (src.secret.optional) continue;
            throw new Error(`secret "${src.secret.name}" not found`);
          }
          Object.assign(out, keyedPayload("secret", secretData(s), src.secret.items as KeyItem[] | undefined, mode, src.secret.optional === true));
        } else if (src.downwardAPI) Object.assign(out, this.downwardPayload(src.downwardAPI.items ?? [], mode));
        else if (src.serviceAccountToken) {
          const t = src.serviceAccountToken;
          const token = await this.token(`${v.name}/${t.path}`, t.audience, t.expirationSeconds ?? 3600);
          out[t.path] = { data: utf8(token), mode };
        }
      }
      return out;
    }
    return {};
  }

  private downwardPayload(items: NonNullable<NonNullable<Volume["downwardAPI"]>["items"]>, mode: number): Payload {
    const out: Payload = {};
    const ips = { podIP: this.sources.podIP(), hostIP: this.sources.hostIP };
    for (const it of items) {
      let value: string;
      if (it.fieldRef) value = podFieldValue(this.pod, it.fieldRef.fieldPath, ips);
      else if (it.resourceFieldRef) {
        const c = (this.pod.spec?.containers ?? []).find((x) => x.name === it.resourceFieldRef!.containerName);
        if (!c) throw new Error(`container ${it.resourceFieldRef.containerName} not found`);
        value = containerResourceValue(c, it.resourceFieldRef.resource, it.resourceFieldRef.divisor as string | undefined, this.sources.allocatable);
      } else continue;
      out[it.path] = { data: utf8(value), mode: it.mode ?? mode };
    }
    return out;
  }

  /**
   * A token for this pod, fetched again once 80% of its life has passed or it is 24 h old
   * (upstream's token manager: refresh within 20% of the TTL of expiry, maxTTL 24 h).
   */
  private async token(key: string, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const now = this.now();
    const have = this.tokens.get(key);
    if (have && now < have.fetchedAt + Math.min(0.8 * (have.expiresAt - have.fetchedAt), TOKEN_MAX_TTL_MS)) return have.token;
    try {
      const t = await this.sources.token(this.pod, audience, expirationSeconds);
      this.tokens.set(key, { token: t.token, fetchedAt: now, expiresAt: t.expiresAt });
      return t.token;
    } catch (e) {
      // Keep serving a token that has not expired yet.
      if (have && now < have.expiresAt) return have.token;
      throw new Error(`failed to fetch token: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Removes the pod's volume directories (emptyDirs included; hostPaths and PVs stay). */
  tearDown(): void {
    this.written.clear();
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(join("/dev/shm", "kubemu", this.pod.metadata?.uid ?? "-"), { recursive: true, force: true });
  }
}

function samePayload(a: Payload | undefined, b: Payload): boolean {
  if (!a) return false;
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] !== undefined && a[k].mode === b[k]!.mode && a[k].data.equals(b[k]!.data));
}
