/**
 * A mistake the user can fix (bad flag, unknown name, cluster not up, port in use...). The CLI
 * prints its message as one line, `kubemu: <message>`, and exits with {@link CliError.exitCode}.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The message of any thrown value, for one-line reports. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
