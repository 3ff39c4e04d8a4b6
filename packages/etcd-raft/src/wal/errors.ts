/**
 * Named WAL errors. Every error about bytes on disk names the file and the byte offset, so an
 * operator can inspect exactly what the WAL refused to read.
 */

/** Base class for WAL failures that are not about on-disk corruption (misuse, closed WAL…). */
export class WalError extends Error {
  override readonly name: string = "WalError";
}

/**
 * The log is damaged somewhere other than a torn tail: a bad checksum followed by valid data, a
 * damaged record in a segment that is not the last, a missing segment, or an impossible record.
 * Recovery refuses to continue rather than silently dropping acknowledged data.
 */
export class WalCorruptError extends Error {
  override readonly name = "WalCorruptError";
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`WAL corrupt: ${file} at byte ${offset}: ${reason}`);
  }
}
