/**
 * Named errors of the MVCC store. A command rejected with one of these left the store
 * unchanged, so every replica rejects it identically and stays in step.
 */

/** MvccErrorCode names each failure; the strings follow etcd's error names. */
export type MvccErrorCode =
  | "ErrCompacted"
  | "ErrFutureRev"
  | "ErrEmptyKey"
  | "ErrKeyTooLarge"
  | "ErrValueTooLarge"
  | "ErrKeyNotFound"
  | "ErrLeaseNotFound"
  | "ErrLeaseExists"
  | "ErrBadRange"
  | "ErrDuplicateKey"
  | "ErrTooManyOps"
  | "ErrInvalidCommand"
  | "ErrBadSnapshot"
  | "ErrReentrantApply";

/** The plain-data form of an MvccError, for sending it over msgpack (see MvccError.fromWire). */
export interface MvccErrorWire {
  code: MvccErrorCode;
  message: string;
  compactRevision?: number;
  currentRevision?: number;
}

/** MvccError is every error the store raises; `code` says which. */
export class MvccError extends Error {
  override readonly name = "MvccError";
  constructor(
    readonly code: MvccErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** toWire gives the plain-data form (code, message and any revision field). */
  toWire(): MvccErrorWire {
    return { code: this.code, message: this.message };
  }

  /** fromWire rebuilds the error (with its subclass) from its plain-data form. */
  static fromWire(w: MvccErrorWire): MvccError {
    if (w.code === "ErrCompacted" && typeof w.compactRevision === "number") {
      return new ErrCompacted(w.compactRevision, w.message);
    }
    if (w.code === "ErrFutureRev" && typeof w.currentRevision === "number") {
      return new ErrFutureRev(w.currentRevision, w.message);
    }
    return new MvccError(w.code, w.message);
  }
}

/** ErrCompacted: the requested revision is below the compaction point; `compactRevision` is that point. */
export class ErrCompacted extends MvccError {
  constructor(
    readonly compactRevision: number,
    message = `mvcc: required revision has been compacted (compact revision ${compactRevision})`,
  ) {
    super("ErrCompacted", message);
  }
  override toWire(): MvccErrorWire {
    return { ...super.toWire(), compactRevision: this.compactRevision };
  }
}

/** ErrFutureRev: the requested revision is above the current one; `currentRevision` is that. */
export class ErrFutureRev extends MvccError {
  constructor(
    readonly currentRevision: number,
    message = `mvcc: required revision is a future revision (current revision ${currentRevision})`,
  ) {
    super("ErrFutureRev", message);
  }
  override toWire(): MvccErrorWire {
    return { ...super.toWire(), currentRevision: this.currentRevision };
  }
}

/** isMvccError narrows to MvccError, optionally of one code. */
export function isMvccError(e: unknown, code?: MvccErrorCode): e is MvccError {
  return e instanceof MvccError && (code === undefined || e.code === code);
}
