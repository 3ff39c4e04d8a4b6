/**
 * RaftLogger is the logging interface the core accepts. A pino Logger satisfies it; the default
 * discards everything. Messages follow "<id> became follower at term <t>" style.
 */
export interface RaftLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** A RaftLogger that discards everything. */
export const discardLogger: RaftLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
