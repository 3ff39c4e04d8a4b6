/**
 * A range allocator whose state lives in the store (upstream's RangeAllocation object), so every
 * API server agrees: a bitmap of used offsets in one object, changed by compare-and-swap
 * (guaranteedUpdate retries on a concurrent change).
 */
import { newStatus, StatusError, type Rng } from "@kubemu/common";
import type { KubeObject, Storage } from "../storage/index.js";

export class RangeFullError extends StatusError {}

export interface RangeAllocatorOptions {
  storage: Storage;
  /** Storage key of the allocation object, e.g. /registry/ranges/serviceips. */
  key: string;
  /** Number of offsets in the range. */
  size: number;
  /** Human description of the range for the allocation object (e.g. "127.96.0.0/16"). */
  range: string;
  /** Offsets random allocation never hands out (still allocatable on request). */
  reserved?: readonly number[];
  /** Offsets never allocatable (network/broadcast addresses). */
  forbidden?: readonly number[];
  rng: Rng;
}

function decode(obj: KubeObject | undefined, size: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(size / 8));
  const data = obj?.data;
  if (typeof data === "string") bits.set(Buffer.from(data, "base64").subarray(0, bits.length));
  return bits;
}

const isSet = (bits: Uint8Array, i: number) => (bits[i >> 3]! & (1 << (i & 7))) !== 0;

export class RangeAllocator {
  constructor(private readonly o: RangeAllocatorOptions) {}

  private async mutate(fn: (bits: Uint8Array) => void): Promise<void> {
    await this.o.storage.guaranteedUpdate(
      this.o.key,
      (cur) => {
        const bits = decode(cur, this.o.size);
        fn(bits);
        return {
          apiVersion: "v1",
          kind: "RangeAllocation",
          metadata: { name: this.o.key.split("/").pop()!, ...(cur ? { resourceVersion: cur.metadata.resourceVersion } : {}) },
          range: this.o.range,
          data: Buffer.from(bits).toString("base64"),
        };
      },
      { ignoreNotFound: true },
    );
  }

  /** Marks offset used. Throws a 422-style error via `onTaken` when already used or out of range. */
  async allocate(offset: number, onTaken: () => StatusError): Promise<void> {
    if (offset < 0 || offset >= this.o.size || this.o.forbidden?.includes(offset)) throw onTaken();
    await this.mutate((bits) => {
      if (isSet(bits, offset)) throw onTaken();
      bits[offset >> 3]! |= 1 << (offset & 7);
    });
  }

  /** Picks a free offset at random (then scanning upward), marks it, and returns it. */
  async allocateNext(): Promise<number> {
    let chosen = -1;
    await this.mutate((bits) => {
      const start = this.o.rng.int(this.o.size);
      for (let n = 0; n < this.o.size; n++) {
        const i = (start + n) % this.o.size;
        if (isSet(bits, i) || this.o.reserved?.includes(i) || this.o.forbidden?.includes(i)) continue;
        bits[i >> 3]! |= 1 << (i & 7);
        chosen = i;
        return;
      }
      throw new RangeFullError(newStatus("InternalError", `range ${this.o.range} is full`));
    });
    return chosen;
  }

  /** Frees offset (no-op when already free). */
  async release(offset: number): Promise<void> {
    if (offset < 0 || offset >= this.o.size) return;
    await this.mutate((bits) => {
      bits[offset >> 3]! &= ~(1 << (offset & 7));
    });
  }

  /** True if offset is in use. */
  async isAllocated(offset: number): Promise<boolean> {
    const cur = await this.o.storage.get(this.o.key, { ignoreNotFound: true });
    return isSet(decode(cur, this.o.size), offset);
  }
}
