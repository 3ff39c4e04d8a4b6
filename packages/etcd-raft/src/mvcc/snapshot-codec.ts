/** Low-level varint/bytes writer and reader for the snapshot format (see snapshot.ts). */
import { MvccError } from "./errors.js";

/** SnapshotWriter appends varints and byte strings to a growing buffer. */
export class SnapshotWriter {
  private buf = new Uint8Array(4096);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** uint writes a non-negative safe integer as LEB128 (arithmetic, since values exceed 32 bits). */
  uint(n: number): void {
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
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

  bytes(): Uint8Array {
    const n = this.uint();
    if (n > this.buf.length - this.pos) throw this.fail("truncated byte string");
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}
