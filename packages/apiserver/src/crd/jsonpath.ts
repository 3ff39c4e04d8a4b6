/**
 * The simple JSONPath subset CRD printer columns and scale paths use (`.spec.replicas`,
 * `.status.conditions[?(@.type=="Ready")].status`, `.spec.items[0].name`, `.metadata.labels['app']`).
 */

type Step = { kind: "field"; name: string } | { kind: "index"; index: number } | { kind: "all" } | { kind: "filter"; path: Step[]; value: string | number | boolean };

/** A parsed path; `find` returns every value it reaches (missing keys yield nothing). */
export interface JsonPath {
  readonly source: string;
  find(obj: unknown): unknown[];
}

/** Thrown for a path outside the supported subset. */
export class JsonPathError extends Error {
  constructor(path: string, detail: string) {
    super(`invalid JSONPath ${JSON.stringify(path)}: ${detail}`);
    this.name = "JsonPathError";
  }
}

/** Parses `path`; throws JsonPathError when it is not a supported simple path. */
export function parseJsonPath(path: string): JsonPath {
  const steps = parseSteps(path, path.replace(/^\{(.*)\}$/, "$1"));
  return { source: path, find: (obj) => evaluate(steps, [obj]) };
}

function parseSteps(source: string, p: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  if (!p.startsWith(".") && !p.startsWith("[")) throw new JsonPathError(source, "must start with '.' or '['");
  while (i < p.length) {
    const c = p[i];
    if (c === ".") {
      const m = /^[A-Za-z0-9_$-]+/.exec(p.slice(i + 1));
      if (!m) {
        if (p[i + 1] === "[" || (i === 0 && p.length === 1)) {
          i++;
          continue;
        }
        throw new JsonPathError(source, `expected a field name at offset ${i + 1}`);
      }
      steps.push({ kind: "field", name: m[0] });
      i += 1 + m[0].length;
    } else if (c === "[") {
      const end = matchingBracket(p, i);
      if (end < 0) throw new JsonPathError(source, "unclosed '['");
      steps.push(parseBracket(source, p.slice(i + 1, end).trim()));
      i = end + 1;
    } else throw new JsonPathError(source, `unexpected ${JSON.stringify(c)} at offset ${i}`);
  }
  return steps;
}

function matchingBracket(p: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < p.length; i++) {
    const c = p[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return i;
  }
  return -1;
}

function parseBracket(source: string, inner: string): Step {
  if (inner === "*") return { kind: "all" };
  if (/^-?\d+$/.test(inner)) return { kind: "index", index: Number(inner) };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (quoted) return { kind: "field", name: quoted[2]! };
  const filter = /^\?\(@(\.[^=!<>]+?)\s*==\s*(.+)\)$/.exec(inner);
  if (filter) {
    const raw = filter[2]!.trim();
    const str = /^(['"])(.*)\1$/.exec(raw);
    let value: string | number | boolean;
    if (str) value = str[2]!;
    else if (raw === "true" || raw === "false") value = raw === "true";
    else if (Number.isFinite(Number(raw))) value = Number(raw);
    else throw new JsonPathError(source, `unsupported filter value ${raw}`);
    return { kind: "filter", path: parseSteps(source, filter[1]!.trim()), value };
  }
  throw new JsonPathError(source, `unsupported selector [${inner}]`);
}

function evaluate(steps: Step[], start: unknown[]): unknown[] {
  let cur = start;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      switch (step.kind) {
        case "field":
          if (typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, step.name)) next.push((v as Record<string, unknown>)[step.name]);
          break;
        case "index":
          if (Array.isArray(v)) {
            const i = step.index < 0 ? v.length + step.index : step.index;
            if (i >= 0 && i < v.length) next.push(v[i]);
          }
          break;
        case "all":
          if (Array.isArray(v)) next.push(...(v as unknown[]));
          else if (typeof v === "object") next.push(...Object.values(v));
          break;
        case "filter":
          if (Array.isArray(v)) for (const item of v as unknown[]) if (evaluate(step.path, [item]).some((x) => x === step.value)) next.push(item);
          break;
      }
    }
    cur = next;
  }
  return cur;
}
