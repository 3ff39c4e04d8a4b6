import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../../src/wal/index.js";

/** Creates a fresh temp directory; `cleanup` removes every one created. */
export function tempDirs(): { make: () => Promise<string>; cleanup: () => Promise<void> } {
  const made: string[] = [];
  return {
    async make() {
      const d = await mkdtemp(join(tmpdir(), "kubemu-wal-"));
      made.push(d);
      return d;
    },
    async cleanup() {
      for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

/** Entry whose data encodes its own index and term, so tests can check content. */
export function entry(index: number, term: number, size = 0): Entry {
  const tag = Buffer.from(`e${index}t${term}`);
  const data = Buffer.alloc(Math.max(size, tag.length), 0x61);
  tag.copy(data);
  return { index, term, type: index % 3, data: new Uint8Array(data) };
}

export function entries(from: number, to: number, term: number, size = 0): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

/** Compact description of entries for equality assertions. */
export function describe(es: readonly Entry[]): string[] {
  return es.map((e) => `${e.index}@${e.term}:${e.type}:${Buffer.from(e.data).toString("latin1")}`);
}

/** XORs one byte of `buf` in place (bounds-checked). */
export function flipByte(buf: Buffer, at: number, mask = 0xff): void {
  buf.writeUInt8(buf.readUInt8(at) ^ mask, at);
}
