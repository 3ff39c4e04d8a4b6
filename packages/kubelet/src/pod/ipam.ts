/**
 * Pod IPs from the node's pod CIDR, as the host-local IPAM plugin hands them out: .1 is the
 * gateway, .0 and .255 are never used, allocation goes round-robin after the last one given (a
 * freed address is not reused at once), and the table survives kubelet restarts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export class Ipam {
  private readonly owners = new Map<string, string>();
  private last = 1;
  private readonly prefix: string;

  constructor(
    cidr: string,
    private readonly stateFile: string | undefined,
  ) {
    const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(cidr);
    if (!m) throw new Error(`pod CIDR ${cidr} must be a /24`);
    this.prefix = m[1]!;
    if (stateFile && existsSync(stateFile)) {
      try {
        const s = JSON.parse(readFileSync(stateFile, "utf8")) as { last?: number; owners?: Record<string, string> };
        for (const [ip, uid] of Object.entries(s.owners ?? {})) this.owners.set(ip, uid);
        this.last = s.last ?? 1;
      } catch {
        // A damaged table only costs fresh addresses.
      }
    }
  }

  private save(): void {
    if (!this.stateFile) return;
    mkdirSync(dirname(this.stateFile), { recursive: true });
    writeFileSync(this.stateFile, JSON.stringify({ last: this.last, owners: Object.fromEntries(this.owners) }));
  }

  contains(ip: string): boolean {
    const m = new RegExp(`^${this.prefix.replaceAll(".", "\\.")}\\.(\\d+)$`).exec(ip);
    return !!m && Number(m[1]) >= 2 && Number(m[1]) <= 254;
  }

  /** The pod's address: the one it has (or asks for, if free), else the next free one. */
  allocate(uid: string, preferred?: string): string {
    for (const [ip, owner] of this.owners) if (owner === uid) return ip;
    if (preferred && this.contains(preferred) && !this.owners.has(preferred)) {
      this.owners.set(preferred, uid);
      this.save();
      return preferred;
    }
    for (let i = 0; i < 253; i++) {
      const n = ((this.last - 2 + 1 + i) % 253) + 2;
      const ip = `${this.prefix}.${n}`;
      if (!this.owners.has(ip)) {
        this.owners.set(ip, uid);
        this.last = n;
        this.save();
        return ip;
      }
    }
    throw new Error(`no IP addresses available in range set: ${this.prefix}.1-${this.prefix}.254`);
  }

  release(uid: string): void {
    for (const [ip, owner] of this.owners) if (owner === uid) this.owners.delete(ip);
    this.save();
  }

  /** Frees every address whose pod is not in `live` (after a restart). */
  retain(live: Set<string>): void {
    for (const [ip, owner] of this.owners) if (!live.has(owner)) this.owners.delete(ip);
    this.save();
  }
}
