/** utilerrors.NewAggregate: several failures of one sync as one error. */
import { messageOf } from "./pod-control.js";

/** Undefined for none, the error itself for one, "[a, b]" for several (as upstream prints them). */
export function aggregate(errors: readonly unknown[]): Error | undefined {
  if (errors.length === 0) return undefined;
  if (errors.length === 1) return errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
  return new Error(`[${errors.map(messageOf).join(", ")}]`);
}
