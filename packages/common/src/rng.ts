import * as prand from "pure-rand";

/**
 * A source of randomness. Inject it instead of calling Math.random() so a seed replays a run
 * exactly (the Raft simulator and every jittered backoff depend on this).
 */
export interface Rng {
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** An independent generator derived from this one (for giving each simulated node its own stream). */
  fork(): Rng;
}

/** A seeded, deterministic Rng (xoroshiro128+ from pure-rand). */
export class SeededRng implements Rng {
  private gen: prand.RandomGenerator;

  constructor(seed: number) {
    this.gen = prand.xoroshiro128plus(seed | 0);
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
    return this.range(0, n - 1);
  }

  range(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`range(${lo}, ${hi}) is empty`);
    return prand.unsafeUniformIntDistribution(lo, hi, this.gen);
  }

  float(): number {
    // 53 random bits, as Math.random has.
    const hi = prand.unsafeUniformIntDistribution(0, (1 << 26) - 1, this.gen);
    const lo = prand.unsafeUniformIntDistribution(0, (1 << 27) - 1, this.gen);
    return (hi * 2 ** 27 + lo) / 2 ** 53;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty array");
    return items[this.int(items.length)]!;
  }

  fork(): Rng {
    return new SeededRng(this.range(-(2 ** 31), 2 ** 31 - 1));
  }
}

/** An Rng seeded from the OS for production use; still injectable and loggable via its seed. */
export function randomRng(): { rng: Rng; seed: number } {
  const seed = (Date.now() ^ (process.pid << 16) ^ Math.floor(Math.random() * 2 ** 31)) | 0;
  return { rng: new SeededRng(seed), seed };
}
