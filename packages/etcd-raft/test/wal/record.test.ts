import { crc32 } from "node:zlib";
import fc from "fast-check";
import { describe as suite, expect, it } from "vitest";
import { crc32Of4, decodeEntry, encodeEntries, HEADER_SIZE, readRecord, RecordType } from "../../src/wal/record.js";

suite("WAL record framing", () => {
  it("the table CRC of 4 bytes equals zlib's crc32", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        expect(crc32Of4(bytes, 0)).toBe(crc32(bytes));
      }),
    );
  });

  it("encodes and decodes arbitrary entries, and any single flipped bit is detected", () => {
    const entryArb = fc.record({
      index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      term: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      type: fc.integer({ min: 0, max: 255 }),
      data: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(entryArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (e, pos, bit) => {
        const buf = encodeEntries([e]);
        const r = readRecord(buf, 0);
        if (r.kind !== "ok") throw new Error(r.reason);
        expect(r.type).toBe(RecordType.entry);
        expect(r.end).toBe(buf.length);
        const back = decodeEntry(r.payload);
        expect({ ...back, data: Buffer.from(back.data) }).toEqual({ ...e, data: Buffer.from(e.data) });
        const at = pos % buf.length;
        buf.writeUInt8(buf.readUInt8(at) ^ (1 << bit), at);
        expect(readRecord(buf, 0).kind).not.toBe("ok");
      }),
      { numRuns: 300 },
    );
  });

  it("reports a short header or a short body as incomplete", () => {
    const buf = encodeEntries([{ index: 1, term: 1, type: 0, data: new Uint8Array(10) }]);
    expect(readRecord(buf.subarray(0, HEADER_SIZE - 1), 0).kind).toBe("incomplete");
    expect(readRecord(buf.subarray(0, buf.length - 1), 0).kind).toBe("incomplete");
  });
});
