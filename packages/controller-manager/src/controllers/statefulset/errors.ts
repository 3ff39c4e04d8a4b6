/** Several failures reported as one, worded as apimachinery's utilerrors.NewAggregate prints them. */
import { messageOf } from "../../controller/pod-control.js";

export class AggregateFailure extends Error {
  constructor(readonly errors: readonly unknown[]) {
    super(errors.length === 1 ? messageOf(errors[0]) : `[${errors.map(messageOf).join(", ")}]`);
    this.name = "AggregateFailure";
  }
}

/** undefined for no errors, the error itself for one, an AggregateFailure for more. */
export function aggregate(errors: readonly unknown[]): unknown {
  if (errors.length === 0) return undefined;
  if (errors.length === 1) return errors[0];
  return new AggregateFailure(errors.flatMap((e) => (e instanceof AggregateFailure ? e.errors : [e])));
}
