/** Server-side printing: converting objects to meta.k8s.io/v1 Table (what `kubectl get` shows). */
import type { KubeObject } from "../storage/index.js";
import type { ResourceDef, TableColumn } from "../registry/types.js";
import { defaultPrinter } from "../tables/misc.js";

export type IncludeObject = "None" | "Metadata" | "Object";

/** Which Table version the Accept header asks for (undefined = not a Table request). */
export function wantsTable(accept: string | undefined): "v1" | "v1beta1" | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(",")) {
    const p = part.replace(/\s+/g, "");
    if (!p.includes("as=Table") || !p.includes("g=meta.k8s.io")) continue;
    if (p.includes("v=v1beta1")) return "v1beta1";
    if (p.includes("v=v1")) return "v1";
  }
  return undefined;
}

function columnsOf(def: ResourceDef): TableColumn[] {
  return def.columns && def.row ? def.columns : defaultPrinter.columns;
}

function rowObject(obj: KubeObject, include: IncludeObject, version: string): unknown {
  if (include === "None") return undefined;
  if (include === "Object") return obj;
  return { kind: "PartialObjectMetadata", apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

export interface TableOptions {
  include: IncludeObject;
  version: "v1" | "v1beta1";
  now: Date;
  noHeaders?: boolean;
}

/** A Table of objs; list metadata (resourceVersion, continue) copied from the list. */
export function toTable(def: ResourceDef, objs: KubeObject[], listMeta: Record<string, unknown>, o: TableOptions): Record<string, unknown> {
  const row = def.columns && def.row ? def.row : defaultPrinter.row;
  const columns = columnsOf(def);
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${o.version}`,
    metadata: listMeta,
    columnDefinitions: o.noHeaders ? null : columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? "", description: c.description, priority: c.priority ?? 0 })),
    rows: objs.map((obj) => {
      const object = rowObject(obj, o.include, o.version);
      return { cells: row(obj, { now: o.now }), ...(object !== undefined ? { object } : {}) };
    }),
  };
}
