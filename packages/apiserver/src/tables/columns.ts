/** A Table printer for one kind: its columns and a function giving each row's cells. */
import type { KubeObject } from "../storage/index.js";
import type { HookContext, TableColumn } from "../registry/types.js";

export interface Printer {
  columns: TableColumn[];
  row: (obj: KubeObject, ctx: HookContext) => unknown[];
}

/** Column constructors; descriptions are what kubectl shows in `--show-kind` tooling and docs. */
export const nameCol = (): TableColumn => ({
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.",
  priority: 0,
});
export const ageCol = (): TableColumn => ({
  name: "Age",
  type: "string",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  priority: 0,
});
export const col = (name: string, description: string, priority = 0, type: TableColumn["type"] = "string"): TableColumn => ({
  name,
  type,
  description,
  priority,
});
