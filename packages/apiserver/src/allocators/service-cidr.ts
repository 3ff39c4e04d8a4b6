/**
 * The Service ClusterIP range (--service-cluster-ip-range, 127.96.0.0/16 by default). Its first
 * address is the `kubernetes` Service's, as upstream's; offsets index the range allocator.
 */
export class ServiceCidr {
  readonly size: number;
  private readonly base: number;

  private constructor(
    readonly text: string,
    base: number,
    prefix: number,
  ) {
    this.size = 2 ** (32 - prefix);
    this.base = base;
  }

  /** Parses "a.b.c.d/n"; an IPv4 range of 16 to 65536 addresses. Returns the error text otherwise. */
  static parse(text: string): ServiceCidr | string {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(text.trim());
    const ip = m ? ipToNumber(m[1]!) : undefined;
    const prefix = m ? Number(m[2]) : NaN;
    if (!m || ip === undefined || !(prefix >= 16 && prefix <= 28)) return `service IP range must be an IPv4 CIDR between /16 and /28, got "${text}"`;
    const size = 2 ** (32 - prefix);
    if (ip % size !== 0) return `service IP range "${text}" is not a network address (its host bits are set)`;
    return new ServiceCidr(text.trim(), ip, prefix);
  }

  offsetOf(ip: string): number | undefined {
    const n = ipToNumber(ip);
    if (n === undefined) return undefined;
    const off = n - this.base;
    return off >= 0 && off < this.size ? off : undefined;
  }

  ipAt(offset: number): string {
    const n = this.base + offset;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
  }

  /** The `kubernetes` Service's ClusterIP: the range's first usable address. */
  get kubernetesServiceIp(): string {
    return this.ipAt(1);
  }
}

export const DEFAULT_SERVICE_CIDR = "127.96.0.0/16";

function ipToNumber(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts[0]! * 2 ** 24 + parts[1]! * 2 ** 16 + parts[2]! * 2 ** 8 + parts[3]!;
}
