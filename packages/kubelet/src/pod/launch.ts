/**
 * What a container process is given besides its argv: its environment (the image's ENV, the
 * runtime's HOSTNAME and HOME, then the container's own, which win), its mounts (each
 * volumeMount resolved to the volume's host path; subPath and subPathExpr below it) and the
 * limits its cgroup gets.
 */
import { mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { Container } from "kubernetes-types/core/v1.js";
import type { ResolvedImage } from "@kubemu/images";
import { parseQuantity, quantityMilliValue, quantityValue } from "@kubemu/common";
import type { ContainerLimits } from "../runtime/cgroup-config.js";
import { mountPathProblem, type Mount } from "../runtime/sandbox.js";
import { BUSYBOX_LEGACY_SUBDIR } from "../runtime/executables.js";
import { expand } from "./expansion.js";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Where a busybox image's applet links appear in the sandbox (first on PATH). */
export const BUSYBOX_DIR = "/.kubemu-busybox";

export function processEnv(image: ResolvedImage, env: readonly [string, string][], hostname: string, busybox: boolean): Record<string, string> {
  const out: Record<string, string> = { PATH: DEFAULT_PATH, ...(image.entry.env ?? {}), HOSTNAME: hostname };
  for (const [k, v] of env) out[k] = v;
  if (!out.HOME) out.HOME = "/root";
  if (busybox) out.PATH = `${busyboxPathDir(image.name)}:${out.PATH}`;
  return out;
}

/**
 * Where in the sandbox a busybox image finds its applets: the legacy set (the host's nslookup,
 * which applies the search list as 1.28's libc lookup did) for busybox tags 1.28 and older and for
 * registry.k8s.io/gcr.io's busybox (1.24 inside), else every applet of the host's busybox.
 */
export function busyboxPathDir(imageName: string): string {
  const legacy = `${BUSYBOX_DIR}/${BUSYBOX_LEGACY_SUBDIR}`;
  const at = imageName.lastIndexOf(":");
  const repo = at > imageName.lastIndexOf("/") ? imageName.slice(0, at) : imageName;
  const tag = at > imageName.lastIndexOf("/") ? imageName.slice(at + 1) : "latest";
  if (repo === "registry.k8s.io/busybox" || repo === "k8s.gcr.io/busybox" || repo === "gcr.io/google-containers/busybox") return legacy;
  if (repo !== "docker.io/library/busybox") return BUSYBOX_DIR;
  const m = /^(\d+)\.(\d+)/.exec(tag);
  if (!m) return BUSYBOX_DIR;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major < 1 || (major === 1 && minor <= 28) ? legacy : BUSYBOX_DIR;
}

/** The container's mounts; throws (a CreateContainerConfigError) on a bad mount path or subPath. */
export function containerMounts(spec: Container, hostPathOf: (volume: string) => string | undefined, env: readonly [string, string][]): Mount[] {
  const vars = new Map(env);
  const out: Mount[] = [];
  for (const vm of spec.volumeMounts ?? []) {
    const problem = mountPathProblem(vm.mountPath);
    if (problem) throw new Error(problem);
    const base = hostPathOf(vm.name);
    if (!base) throw new Error(`cannot find volume "${vm.name}" to mount into container "${spec.name}"`);
    let hostPath = base;
    const sub = vm.subPath || (vm.subPathExpr ? expand(vm.subPathExpr, (n) => vars.get(n) ?? "") : "");
    if (sub) {
      if (sub.split("/").includes("..") || sub.startsWith("/")) throw new Error(`subPath "${sub}" must be a relative path without '..'`);
      hostPath = join(base, sub);
      // A subPath into an AtomicWriter volume binds the file the link points at now: later updates do not reach it (as upstream).
      try {
        hostPath = realpathSync(hostPath);
      } catch {
        mkdirSync(hostPath, { recursive: true });
      }
    }
    out.push({ hostPath, containerPath: vm.mountPath, readOnly: vm.readOnly === true });
  }
  return out;
}

/** A container's memory limit (bytes) and CPU limit and request (millicores); a quantity that does not parse is left out. */
export function containerLimits(spec: Container): ContainerLimits {
  const limits = (spec.resources?.limits ?? {}) as Record<string, string | number>;
  const requests = (spec.resources?.requests ?? {}) as Record<string, string | number>;
  const q = (v: string | number | undefined, milli: boolean) => {
    if (v === undefined) return undefined;
    try {
      const parsed = parseQuantity(String(v));
      return milli ? quantityMilliValue(parsed) : quantityValue(parsed);
    } catch {
      return undefined;
    }
  };
  const out: ContainerLimits = {};
  const memory = q(limits.memory, false);
  const cpuLimit = q(limits.cpu, true);
  const cpuRequest = q(requests.cpu, true);
  if (memory !== undefined && memory > 0) out.memoryLimitBytes = memory;
  if (cpuLimit !== undefined && cpuLimit > 0) out.cpuLimitMilli = cpuLimit;
  if (cpuRequest !== undefined) out.cpuRequestMilli = cpuRequest;
  return out;
}
