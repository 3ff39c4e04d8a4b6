/** What the kubelet reads about its machine: identity files, OS, kernel, free memory and disk. */
import { readFileSync, statfsSync } from "node:fs";
import { arch, freemem, release } from "node:os";

export interface HostInfo {
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  architecture: string;
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

/** PRETTY_NAME of /etc/os-release, as the kubelet reports osImage. */
export function osImage(text: string): string {
  const m = /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(text);
  return (m?.[1] ?? m?.[2] ?? "Linux").trim();
}

/** Go's GOARCH for Node's os.arch(). */
export function goArch(nodeArch: string): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[nodeArch] ?? nodeArch;
}

export function readHostInfo(): HostInfo {
  const machineID = readTrimmed("/etc/machine-id") || readTrimmed("/var/lib/dbus/machine-id");
  return {
    machineID,
    systemUUID: readTrimmed("/sys/class/dmi/id/product_uuid") || machineID,
    bootID: readTrimmed("/proc/sys/kernel/random/boot_id"),
    kernelVersion: release(),
    osImage: osImage(readTrimmed("/etc/os-release")),
    architecture: goArch(arch()),
  };
}

/** Bytes of memory available (MemAvailable), as the eviction manager's memory.available. */
export function memoryAvailableBytes(): number {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readTrimmed("/proc/meminfo"));
  return m ? Number(m[1]) * 1024 : freemem();
}

/** Size and free bytes of the file system holding dir. */
export function fsStats(dir: string): { capacityBytes: number; availableBytes: number } | undefined {
  try {
    const s = statfsSync(dir);
    return { capacityBytes: Number(s.blocks) * Number(s.bsize), availableBytes: Number(s.bavail) * Number(s.bsize) };
  } catch {
    return undefined;
  }
}
