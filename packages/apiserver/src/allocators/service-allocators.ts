/**
 * ClusterIP (--service-cluster-ip-range, 127.96.0.0/16 by default) and NodePort (30000–32767)
 * allocation for Services. The range's first address (`kubernetes`, 127.96.0.1) and its tenth
 * (`kube-dns`, 127.96.0.10) are kept out of random allocation.
 */
import { newStatus, StatusError, type Rng } from "@kubemu/common";
import type { Storage } from "../storage/index.js";
import { RangeAllocator } from "./range.js";
import type { ServiceCidr } from "./service-cidr.js";

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

const invalidField = (field: string, value: unknown, detail: string) =>
  new StatusError(
    newStatus("Invalid", `Service "${"?"}" is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`, {
      kind: "Service",
      causes: [{ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field }],
    }),
  );

/** The two allocators services need, sharing the range storage. */
export class ServiceAllocators {
  readonly ips: RangeAllocator;
  readonly ports: RangeAllocator;

  constructor(
    storage: Storage,
    rng: Rng,
    private readonly cidr: ServiceCidr,
  ) {
    this.ips = new RangeAllocator({
      storage,
      key: "/registry/ranges/serviceips",
      size: cidr.size,
      range: cidr.text,
      reserved: [1, 10],
      forbidden: [0, cidr.size - 1],
      rng,
    });
    this.ports = new RangeAllocator({
      storage,
      key: "/registry/ranges/servicenodeports",
      size: NODE_PORT_MAX - NODE_PORT_MIN + 1,
      range: `${NODE_PORT_MIN}-${NODE_PORT_MAX}`,
      rng,
    });
  }

  /** Allocates the requested ClusterIP, or a random one. Returns the IP. */
  async allocateIp(requested: string | undefined, serviceName: string): Promise<string> {
    if (requested) {
      const off = this.cidr.offsetOf(requested);
      if (off === undefined) throw withName(invalidField("spec.clusterIPs", requested, `provided IP is not in the valid range. The range of valid IPs is ${this.cidr.text}`), serviceName);
      await this.ips.allocate(off, () => withName(invalidField("spec.clusterIPs", requested, "failed to allocate IP " + requested + ": provided IP is already allocated"), serviceName));
      return requested;
    }
    return this.cidr.ipAt(await this.ips.allocateNext());
  }

  async releaseIp(ip: string | undefined): Promise<void> {
    const off = ip ? this.cidr.offsetOf(ip) : undefined;
    if (off !== undefined) await this.ips.release(off);
  }

  /** Allocates the requested node port, or a random one. */
  async allocatePort(requested: number | undefined, field: string, serviceName: string): Promise<number> {
    if (requested !== undefined) {
      const off = requested - NODE_PORT_MIN;
      if (!Number.isInteger(requested) || off < 0 || requested > NODE_PORT_MAX)
        throw withName(invalidField(field, requested, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`), serviceName);
      await this.ports.allocate(off, () => withName(invalidField(field, requested, "provided port is already allocated"), serviceName));
      return requested;
    }
    return NODE_PORT_MIN + (await this.ports.allocateNext());
  }

  async releasePort(port: number | undefined): Promise<void> {
    if (typeof port === "number") await this.ports.release(port - NODE_PORT_MIN);
  }
}

function withName(e: StatusError, name: string): StatusError {
  const s = e.status;
  return new StatusError({ ...s, message: s.message.replace(`Service "?"`, `Service "${name}"`), details: { ...s.details, name } });
}
