/**
 * MetalLB 0.9's IP allocator (internal/allocator/allocator.go): which Service owns which address,
 * with 0.9's sharing rules — Services may share an address only when both carry the same
 * `metallb.universe.tf/allow-shared-ip` key, the same backend key (their selector, when
 * externalTrafficPolicy is Local) and no port in common. Pure: no I/O. Services are keyed
 * `namespace/name`; addresses are 32-bit numbers (config.ts).
 */
import { formatIPv4, isBuggyIP, poolFor, type Pool } from "./config.js";

export interface Port {
  proto: string;
  port: number;
}

interface Alloc {
  pool: string;
  ip: number;
  ports: Port[];
  sharing: string;
  backend: string;
}

const portText = (p: Port) => `${p.proto}/${p.port}`;

export class Allocator {
  private pools: Pool[] = [];
  private readonly allocated = new Map<string, Alloc>();

  /** SetPools: refused when an address already assigned would fall outside every new pool. */
  setPools(pools: Pool[]): void {
    for (const [svc, a] of this.allocated) {
      if (poolFor(pools, a.ip) === undefined) throw new Error(`new config not compatible with assigned IPs: service "${svc}" cannot own "${formatIPv4(a.ip)}" under new config`);
    }
    this.pools = pools;
    for (const a of this.allocated.values()) a.pool = poolFor(pools, a.ip)!.name;
  }

  private usersOf(ip: number, except?: string): [string, Alloc][] {
    return [...this.allocated].filter(([svc, a]) => a.ip === ip && svc !== except);
  }

  /** Assign: give svc this address if the config allows it and the sharing rules let it in. */
  assign(svc: string, ip: number, ports: Port[], sharing: string, backend: string): void {
    const pool = poolFor(this.pools, ip);
    if (pool === undefined) throw new Error(`"${formatIPv4(ip)}" is not allowed in config`);
    const others = this.usersOf(ip, svc);
    if (others.length > 0) {
      const existing = others[0]![1];
      const why = sharingProblem(existing, { sharing, backend });
      if (why !== undefined) throw new Error(`can't change sharing key for "${svc}", address also in use by ${others.map(([s]) => s).join(",")}`);
      for (const p of ports) {
        if (others.some(([, a]) => a.ports.some((q) => q.proto === p.proto && q.port === p.port))) throw new Error(`port ${portText(p)} is already in use on "${formatIPv4(ip)}"`);
      }
    }
    this.allocated.set(svc, { pool: pool.name, ip, ports: [...ports], sharing, backend });
  }

  /** Unassign: frees svc's address; true when it had one. */
  unassign(svc: string): boolean {
    return this.allocated.delete(svc);
  }

  /** AllocateFromPool: svc's current address if it still fits, else the first free one of the pool. */
  allocateFromPool(svc: string, poolName: string, ports: Port[], sharing: string, backend: string): number {
    const current = this.allocated.get(svc);
    if (current !== undefined) {
      this.assign(svc, current.ip, ports, sharing, backend);
      return current.ip;
    }
    const pool = this.pools.find((p) => p.name === poolName);
    if (pool === undefined) throw new Error(`unknown pool "${poolName}"`);
    for (const r of pool.ranges) {
      for (let ip = r.first; ip <= r.last; ip++) {
        if (pool.avoidBuggyIPs && isBuggyIP(ip)) continue;
        try {
          this.assign(svc, ip, ports, sharing, backend);
          return ip;
        } catch {
          // taken or not shareable: try the next one
        }
      }
    }
    throw new Error(`no available IPs in pool "${poolName}"`);
  }

  /** Allocate: from any auto-assign pool. */
  allocate(svc: string, ports: Port[], sharing: string, backend: string): number {
    const current = this.allocated.get(svc);
    if (current !== undefined) {
      this.assign(svc, current.ip, ports, sharing, backend);
      return current.ip;
    }
    for (const p of this.pools) {
      if (!p.autoAssign) continue;
      try {
        return this.allocateFromPool(svc, p.name, ports, sharing, backend);
      } catch {
        // pool full: the next one
      }
    }
    throw new Error("no available IPs");
  }

  /** Per pool: usable addresses, addresses in use, Services holding one (upstream's allocator stats). */
  stats(): { pool: string; total: number; inUse: number; services: number }[] {
    return this.pools.map((p) => {
      const mine = [...this.allocated.values()].filter((a) => a.pool === p.name);
      const total = p.ranges.reduce((n, r) => n + (r.last < r.first ? 0 : r.last - r.first + 1 - (p.avoidBuggyIPs ? buggyIn(r.first, r.last) : 0)), 0);
      return { pool: p.name, total, inUse: new Set(mine.map((a) => a.ip)).size, services: mine.length };
    });
  }

  ip(svc: string): number | undefined {
    return this.allocated.get(svc)?.ip;
  }

  pool(svc: string): string | undefined {
    const a = this.allocated.get(svc);
    return a === undefined ? undefined : poolFor(this.pools, a.ip)?.name;
  }
}

/** How many addresses in [first, last] end in .0 or .255. */
function buggyIn(first: number, last: number): number {
  const upTo = (x: number, rem: number) => (x < rem ? 0 : Math.floor((x - rem) / 256) + 1); // count of y <= x with y % 256 == rem
  return upTo(last, 0) - upTo(first - 1, 0) + upTo(last, 255) - upTo(first - 1, 255);
}

function sharingProblem(existing: { sharing: string; backend: string }, next: { sharing: string; backend: string }): string | undefined {
  if (existing.sharing === "") return "existing service does not allow sharing";
  if (next.sharing === "") return "new service does not allow sharing";
  if (existing.sharing !== next.sharing) return `sharing key "${next.sharing}" does not match existing sharing key "${existing.sharing}"`;
  if (existing.backend !== next.backend) return `backend key "${next.backend}" does not match existing sharing key "${existing.backend}"`;
  return undefined;
}
