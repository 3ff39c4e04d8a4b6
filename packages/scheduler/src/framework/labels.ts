/**
 * Label selectors compiled once per object, with upstream's nil semantics:
 * `metav1.LabelSelectorAsSelector(nil)` selects nothing, an empty selector (`{}`) selects
 * everything. The requirement parsing is @kubemu/common's `selectorFromObject`.
 */
import { selectorFromObject } from "@kubemu/common";
import type { LabelSelector as LabelSelectorObject } from "kubernetes-types/meta/v1.js";

/** A compiled selector; `matches` is cheap enough for the filter loop. */
export interface LabelMatcher {
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  /** True when it matches every label set (an empty, non-nil selector). */
  readonly everything: boolean;
  /** True when it matches nothing (a nil selector). */
  readonly nothing: boolean;
}

const NOTHING: LabelMatcher = { matches: () => false, everything: false, nothing: true };
const EVERYTHING: LabelMatcher = { matches: () => true, everything: true, nothing: false };

/** The matcher that selects nothing (a nil selector). */
export function nothingMatcher(): LabelMatcher {
  return NOTHING;
}

/** The matcher that selects everything (an empty selector). */
export function everythingMatcher(): LabelMatcher {
  return EVERYTHING;
}

/** Compiles a metav1.LabelSelector: nil → nothing, `{}` → everything. */
export function compileLabelSelector(sel: LabelSelectorObject | null | undefined): LabelMatcher {
  if (sel === undefined || sel === null) return NOTHING;
  const reqs = selectorFromObject(sel).requirements;
  if (reqs.length === 0) return EVERYTHING;
  return compiled(reqs.map((r) => ({ key: r.key, op: r.op, values: r.values })));
}

/** A selector from a plain label map (Service `.spec.selector`, RC `.spec.selector`): every pair must match. */
export function compileLabelMap(map: Readonly<Record<string, string>> | null | undefined): LabelMatcher {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return EVERYTHING;
  return compiled(entries.map(([key, v]) => ({ key, op: "=", values: [v] })));
}

interface Req {
  key: string;
  op: string;
  values: string[];
}

function compiled(reqs: Req[]): LabelMatcher {
  const n = reqs.length;
  return {
    everything: false,
    nothing: false,
    matches(labels) {
      for (let i = 0; i < n; i++) {
        const r = reqs[i]!;
        const v = labels === undefined ? undefined : labels[r.key];
        const has = v !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
        switch (r.op) {
          case "=":
            if (!has || v !== r.values[0]) return false;
            break;
          case "!=":
            if (has && v === r.values[0]) return false;
            break;
          case "in":
            if (!has || !r.values.includes(v)) return false;
            break;
          case "notin":
            if (has && r.values.includes(v)) return false;
            break;
          case "exists":
            if (!has) return false;
            break;
          default: // "!": DoesNotExist
            if (has) return false;
        }
      }
      return true;
    },
  };
}
