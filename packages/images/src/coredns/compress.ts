/**
 * DNS name compression (RFC 1035 4.1.4) over a message dns-packet encoded: dns-packet writes every
 * name in full, so a reply is longer than CoreDNS's and fewer records fit in 512 bytes. This
 * rewrites owner names and the names inside CNAME/PTR/NS/MX/SOA data as pointers to earlier
 * occurrences of the same spelling (a pointer never changes a name's case, which 0x20-randomizing
 * resolvers check). SRV targets stay uncompressed (RFC 2782).
 * A message this does not understand is returned as it is.
 */

const T = { NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, SRV: 33 } as const;

class Unsupported extends Error {}

export function compressMessage(buf: Buffer): Buffer {
  try {
    return compress(buf);
  } catch (e) {
    if (e instanceof Unsupported || e instanceof RangeError) return buf;
    throw e;
  }
}

function compress(buf: Buffer): Buffer {
  if (buf.length < 12) throw new Unsupported();
  const out = Buffer.allocUnsafe(buf.length); // every byte returned is written below
  buf.copy(out, 0, 0, 12);
  const dict = new Map<string, number>();
  let r = 12;
  let w = 12;

  /** A name's label offsets in buf (relative to its start) and its wire bytes, as one latin1 string. */
  interface Name {
    wire: string;
    begin: number;
    offsets: number[];
  }
  const readName = (): Name => {
    const begin = r;
    const offsets: number[] = [];
    for (;;) {
      const len = buf[r];
      if (len === undefined) throw new Unsupported();
      if (len === 0) {
        r++;
        return { wire: buf.toString("latin1", begin, r), begin, offsets };
      }
      if (len >= 0x40) throw new Unsupported(); // a pointer or an extended label: not dns-packet's output
      offsets.push(r - begin);
      r += 1 + len;
    }
  };
  // A suffix's key is its wire form from that label on (a slice of one string: cheap in V8).
  const writeName = (name: Name, compressIt: boolean): void => {
    for (const off of name.offsets) {
      const key = name.wire.slice(off);
      const at = compressIt ? dict.get(key) : undefined;
      if (at !== undefined) {
        out.writeUInt16BE(0xc000 | at, w);
        w += 2;
        return;
      }
      if (compressIt && w < 0x3fff) dict.set(key, w);
      const len = buf[name.begin + off]!;
      buf.copy(out, w, name.begin + off, name.begin + off + 1 + len);
      w += 1 + len;
    }
    out[w++] = 0;
  };
  const copy = (n: number): void => {
    if (r + n > buf.length) throw new Unsupported();
    buf.copy(out, w, r, r + n);
    r += n;
    w += n;
  };

  const qd = buf.readUInt16BE(4);
  const rrs = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  for (let i = 0; i < qd; i++) {
    writeName(readName(), true);
    copy(4);
  }
  for (let i = 0; i < rrs; i++) {
    writeName(readName(), true);
    const type = buf.readUInt16BE(r);
    copy(8); // type, class, ttl
    const rdlen = buf.readUInt16BE(r);
    r += 2;
    const lenAt = w;
    w += 2;
    const end = r + rdlen;
    if (type === T.CNAME || type === T.PTR || type === T.NS) writeName(readName(), true);
    else if (type === T.MX) {
      copy(2);
      writeName(readName(), true);
    } else if (type === T.SOA) {
      writeName(readName(), true);
      writeName(readName(), true);
      copy(20);
    } else if (type === T.SRV) {
      copy(6);
      writeName(readName(), false);
    } else copy(rdlen);
    if (r !== end) throw new Unsupported();
    out.writeUInt16BE(w - lenAt - 2, lenAt);
  }
  if (r !== buf.length) throw new Unsupported();
  return out.subarray(0, w);
}
