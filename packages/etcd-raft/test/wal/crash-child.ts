/**
 * Crash-test child: appends to the WAL in `argv[2]` forever, keeping several appends in
 * flight, and prints `ack <index>` for every entry whose append promise resolved. The parent
 * SIGKILLs it mid-burst and checks every printed index survived.
 */
import { Wal } from "../../src/wal/index.js";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: crash-child <dir>\n");
  process.exitCode = 2;
} else {
  void run(dir).catch((e: unknown) => {
    process.stderr.write(`crash-child failed: ${String((e as Error)?.stack ?? e)}\n`);
    process.exitCode = 1;
  });
}

async function run(walDir: string): Promise<void> {
  const opts = { segmentSize: 64 * 1024 };
  const wal = (await Wal.exists(walDir)) ? (await Wal.open(walDir, opts)).wal : await Wal.create(walDir, { memberId: "etcd-0", clusterId: "crash" }, opts);
  let next = wal.lastWrittenIndex + 1;
  const inFlight = new Set<Promise<void>>();
  process.stdout.write(`ready ${next}\n`);
  for (;;) {
    const batch = 1 + (next % 4);
    const first = next;
    const ents = [];
    for (let i = 0; i < batch; i++, next++) ents.push({ index: next, term: 1, type: 0, data: new Uint8Array(Buffer.alloc(256, next % 251)) });
    const last = next - 1;
    const p = wal.append({ term: 1, vote: 1, commit: first - 1 }, ents).then(() => {
      process.stdout.write(`ack ${last}\n`);
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 16) await Promise.race(inFlight);
  }
}
