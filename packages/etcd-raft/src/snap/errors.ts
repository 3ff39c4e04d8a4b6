/** A snapshot file failed its framing or checksum checks. Names the file and byte offset. */
export class SnapshotCorruptError extends Error {
  override readonly name = "SnapshotCorruptError";
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`snapshot corrupt: ${file} at byte ${offset}: ${reason}`);
  }
}

/** A snapshot that was asked for by (index, term) does not exist. */
export class SnapshotNotFoundError extends Error {
  override readonly name = "SnapshotNotFoundError";
}
