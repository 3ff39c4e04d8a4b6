/** Low-level varint/bytes writer and reader for the snapshot format (see snapshot.ts). */
import { MvccError } from "./errors.js";

/**
 * SnapshotWriter appends varints and byte strings. Small fields go to a scratch buffer; large
 * byte strings (values) are kept by reference, so each value is copied exactly once, into the
 * final buffer (snapshots of 10k objects are tens of MB; doubling buffers was the main cost).
 */
export class SnapshotWriter {
  private static readonly SCRATCH = 64 * 1024;
  private static readonly BY_REFERENCE = 256;
  private readonly parts: Uint8Array[] = [];
  private scratch = new Uint8Array(SnapshotWriter.SCRATCH);
  /** Start of the scratch region not yet moved to parts; bytes before it are never rewritten. */
  private start = 0;
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    this.flush();
    this.scratch = new Uint8Array(Math.max(n, SnapshotWriter.SCRATCH));
    this.start = 0;
    this.pos = 0;
  }

  /** flush moves the written, unflushed scratch region to the part list (as a view, no copy). */
  private flush(): void {
    if (this.pos === this.start) return;
    this.parts.push(this.scratch.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  byte(b: number): void {
    this.ensure(1);
    this.scratch[this.pos++] = b;
  }

  /** uint writes a non-negative safe integer as LEB128 (arithmetic, since values exceed 32 bits). */
  uint(n: number): void {
    this.ensure(8);
    while (n >= 0x80) {
      this.scratch[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.scratch[this.pos++] = n;
  }

  /** bytes writes a length-prefixed byte string; `b` must not change until finish()/pieces(). */
  bytes(b: Uint8Array): void {
    this.uint(b.length);
    if (b.length >= SnapshotWriter.BY_REFERENCE) {
      this.flush();
      this.parts.push(b);
      return;
    }
    this.ensure(b.length);
    this.scratch.set(b, this.pos);
    this.pos += b.length;
  }

  /** pieces returns the encoding as consecutive chunks (for hashing without concatenating). */
  pieces(): Uint8Array[] {
    this.flush();
    return this.parts;
  }

  /** finish returns the encoding as one buffer. */
  finish(): Uint8Array {
    const parts = this.pieces();
    let total = 0;
    for (const p of parts) total += p.length;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** SnapshotReader reads what SnapshotWriter wrote, failing with ErrBadSnapshot on anything off. */
export class SnapshotReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  fail(why: string): MvccError {
    return new MvccError("ErrBadSnapshot", `mvcc: bad snapshot at byte ${this.pos}: ${why}`);
  }

  byte(): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw this.fail("truncated");
    this.pos++;
    return b;
  }

  uint(): number {
    let n = 0;
    let mult = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      n += (b & 0x7f) * mult;
      if (b < 0x80) {
        if (!Number.isSafeInteger(n)) break;
        return n;
      }
      mult *= 0x80;
    }
    throw this.fail("integer too large");
  }

  /** count reads an element count, rejecting counts that cannot fit in the remaining bytes. */
  count(): number {
    const n = this.uint();
    if (n > this.buf.length - this.pos) throw this.fail(`count ${n} exceeds remaining bytes`);
    return n;
  }

  /** bytes reads a byte string as a view into the input (no copy). */
  bytes(): Uint8Array {
    const n = this.uint();
    if (n > this.buf.length - this.pos) throw this.fail("truncated byte string");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}
