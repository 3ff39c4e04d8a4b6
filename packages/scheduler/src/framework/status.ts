/**
 * Status: a plugin's verdict (upstream's framework.Status). `null` stands for Success wherever a
 * plugin returns `Status | null`, so the filter loop allocates nothing on the happy path.
 */

/** Upstream's framework.Code, by name. */
export type Code = "Success" | "Error" | "Unschedulable" | "UnschedulableAndUnresolvable" | "Skip";

/** A non-success outcome with its reasons (upstream's words) and the plugin that produced it. */
export class Status {
  /** The plugin that returned this status; set by the framework. */
  plugin = "";

  constructor(
    readonly code: Code,
    readonly reasons: readonly string[] = [],
  ) {}

  /** The reasons joined with ", " (upstream's Status.Message()). */
  message(): string {
    return this.reasons.join(", ");
  }

  /** True for Success. */
  isSuccess(): boolean {
    return this.code === "Success";
  }

  /** True for Unschedulable or UnschedulableAndUnresolvable (upstream's IsRejected). */
  isRejected(): boolean {
    return this.code === "Unschedulable" || this.code === "UnschedulableAndUnresolvable";
  }

  /** True for Skip. */
  isSkip(): boolean {
    return this.code === "Skip";
  }

  /** This status attributed to `plugin`. */
  withPlugin(plugin: string): Status {
    this.plugin = plugin;
    return this;
  }
}

/** A new Status (upstream's framework.NewStatus). */
export function newStatus(code: Code, ...reasons: string[]): Status {
  return new Status(code, reasons);
}

/** An Error status carrying an exception's message (upstream's AsStatus). */
export function asStatus(err: unknown): Status {
  return new Status("Error", [err instanceof Error ? err.message : String(err)]);
}

/** The Success status object, for the few places that need a value rather than null. */
export const SUCCESS = new Status("Success");

/** The code of a nullable status (null = Success). */
export function codeOf(s: Status | null | undefined): Code {
  return s === null || s === undefined ? "Success" : s.code;
}

/** True if the nullable status is a success. */
export function isSuccess(s: Status | null | undefined): boolean {
  return s === null || s === undefined || s.code === "Success";
}
