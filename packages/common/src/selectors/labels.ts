/**
 * Label selectors in the query-string syntax kubectl sends (`labelSelector=`): equality
 * (`a=b`, `a==b`, `a!=b`) and set-based (`a in (x,y)`, `a notin (x)`, `a`, `!a`), comma = AND.
 * Parsing rejects malformed input with a BadRequest StatusError, as kube-apiserver does.
 */
import { newBadRequest } from "../status.js";

export type LabelOperator = "=" | "!=" | "in" | "notin" | "exists" | "!";

export interface LabelRequirement {
  key: string;
  op: LabelOperator;
  values: string[];
}

/** A parsed selector; an empty one matches everything. */
export interface LabelSelector {
  requirements: LabelRequirement[];
  matches(labels: Record<string, string> | undefined): boolean;
}

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, whole: string): void {
  const name = key.includes("/") ? key.slice(key.indexOf("/") + 1) : key;
  if (!KEY_RE.test(key) || name.length > 63) throw newBadRequest(`unable to parse requirement: invalid label key "${key}" in selector "${whole}"`);
}

function checkValue(v: string, whole: string): void {
  if (v.length > 63 || !VALUE_RE.test(v)) throw newBadRequest(`unable to parse requirement: invalid label value: "${v}" in selector "${whole}"`);
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function parseTerm(term: string, whole: string): LabelRequirement {
  const t = term.trim();
  if (t === "") throw newBadRequest(`unable to parse requirement: found '', expected: identifier in selector "${whole}"`);
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(t);
  if (set) {
    const key = set[1]!;
    checkKey(key, whole);
    const values = set[3]!.split(",").map((v) => v.trim());
    if (values.length === 1 && values[0] === "") throw newBadRequest(`for 'in', 'notin' operators, values set can't be empty in selector "${whole}"`);
    for (const v of values) checkValue(v, whole);
    return { key, op: set[2] as "in" | "notin", values };
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(t);
  if (eq) {
    const key = eq[1]!;
    checkKey(key, whole);
    const value = eq[3]!.trim();
    checkValue(value, whole);
    return { key, op: eq[2] === "!=" ? "!=" : "=", values: [value] };
  }
  if (t.startsWith("!")) {
    const key = t.slice(1).trim();
    checkKey(key, whole);
    return { key, op: "!", values: [] };
  }
  checkKey(t, whole);
  return { key: t, op: "exists", values: [] };
}

function matchOne(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case "=":
      return has && v === r.values[0];
    case "!=":
      return !has || v !== r.values[0];
    case "in":
      return has && r.values.includes(v!);
    case "notin":
      return !has || !r.values.includes(v!);
    case "exists":
      return has;
    case "!":
      return !has;
  }
}

/** Builds a selector from requirements (all must match). */
export function labelSelectorOf(requirements: LabelRequirement[]): LabelSelector {
  return {
    requirements,
    matches: (labels) => requirements.every((r) => matchOne(r, labels ?? {})),
  };
}

/** Parses a `labelSelector` query value. Throws BadRequest on malformed input. */
export function parseLabelSelector(s: string | undefined | null): LabelSelector {
  if (s === undefined || s === null || s.trim() === "") return labelSelectorOf([]);
  return labelSelectorOf(splitTerms(s).map((t) => parseTerm(t, s)));
}

/**
 * Converts a metav1.LabelSelector object (matchLabels + matchExpressions) into a selector.
 * Used for Scale status selectors and table columns.
 */
export function selectorFromObject(sel: unknown): LabelSelector {
  const reqs: LabelRequirement[] = [];
  if (sel && typeof sel === "object") {
    const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
    for (const [k, v] of Object.entries(s.matchLabels ?? {})) reqs.push({ key: k, op: "=", values: [v] });
    for (const e of s.matchExpressions ?? []) {
      const op = e.operator === "In" ? "in" : e.operator === "NotIn" ? "notin" : e.operator === "Exists" ? "exists" : "!";
      reqs.push({ key: e.key, op, values: e.values ?? [] });
    }
  }
  return labelSelectorOf(reqs);
}

/** Renders requirements the way kubectl shows selectors (`app=x,tier in (a,b)`). */
export function formatLabelSelector(sel: LabelSelector): string {
  if (sel.requirements.length === 0) return "<none>";
  return sel.requirements
    .map((r) => {
      switch (r.op) {
        case "=":
          return `${r.key}=${r.values[0]}`;
        case "!=":
          return `${r.key}!=${r.values[0]}`;
        case "in":
          return `${r.key} in (${r.values.join(",")})`;
        case "notin":
          return `${r.key} notin (${r.values.join(",")})`;
        case "exists":
          return r.key;
        case "!":
          return `!${r.key}`;
      }
    })
    .join(",");
}
