/**
 * Fault injection for the wire layer: rules that drop or delay frames to and from named peers.
 * Every connection consults its process's FaultInjector on every frame in both directions, so a
 * "drop" rule looks exactly like a network partition (frames vanish, pings go unanswered,
 * liveness closes the connection, new handshakes never complete).
 */
import { newStatus, StatusError } from "../status.js";
import { randomRng, type Rng } from "../rng.js";

/** Traffic direction as seen by the process that owns the injector. */
export type FaultDirection = "in" | "out" | "both";

/** One fault rule (the JSON shape served by the control endpoint). */
export interface FaultRule {
  /** The peer's process name from the handshake, or "*" for every peer. */
  peer: string;
  /** Which traffic the rule applies to; defaults to "both". */
  direction?: FaultDirection;
  action: "drop" | "delay";
  /** For "delay": how long each matching frame is held. */
  delayMs?: number;
  /** Chance in [0, 1] that the rule applies to a given frame; defaults to 1. */
  probability?: number;
}

/** The verdict for one frame: -1 = drop, 0 = pass, > 0 = deliver after that many ms. */
export type FaultVerdict = number;
export const DROP: FaultVerdict = -1;
export const PASS: FaultVerdict = 0;

const MAX_DELAY_MS = 10 * 60 * 1000;

/** Holds the current fault rules of a process; switch them at run time (see control.ts). */
export class FaultInjector {
  private current: readonly FaultRule[] = [];
  private readonly rng: Rng;
  private readonly listeners = new Set<(rules: readonly FaultRule[]) => void>();

  constructor(opts: { rng?: Rng; rules?: unknown } = {}) {
    this.rng = opts.rng ?? randomRng().rng;
    if (opts.rules !== undefined) this.setRules(opts.rules);
  }

  /** The active rules (normalized: direction and probability filled in). */
  get rules(): readonly FaultRule[] {
    return this.current;
  }

  /** Replaces all rules after validating them; throws a BadRequest StatusError (with the field) on bad input. */
  setRules(rules: unknown): readonly FaultRule[] {
    this.current = validateFaultRules(rules);
    for (const l of this.listeners) l(this.current);
    return this.current;
  }

  /** Removes every rule (heals all partitions). */
  clear(): void {
    this.setRules([]);
  }

  /** Calls fn whenever the rules change; returns an unsubscribe function. */
  onChange(fn: (rules: readonly FaultRule[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Decides the fate of one frame exchanged with `peer` (undefined before the peer is known,
   * which only "*" rules match). Cheap when there are no rules: this runs for every frame.
   */
  verdict(peer: string | undefined, direction: "in" | "out"): FaultVerdict {
    const rules = this.current;
    if (rules.length === 0) return PASS;
    let delay = 0;
    for (const r of rules) {
      if (r.peer !== "*" && r.peer !== peer) continue;
      if (r.direction !== "both" && r.direction !== direction) continue;
      const p = r.probability ?? 1;
      if (p < 1 && !this.rng.chance(p)) continue;
      if (r.action === "drop") return DROP;
      delay = Math.max(delay, r.delayMs ?? 0);
    }
    return delay;
  }
}

/** Validates and normalizes a FaultRule list from untrusted JSON. */
export function validateFaultRules(input: unknown): FaultRule[] {
  const fail = (field: string, message: string): never => {
    throw new StatusError(newStatus("BadRequest", `invalid fault rules: ${field}: ${message}`, { causes: [{ field, message, reason: "FieldValueInvalid" }] }));
  };
  if (!Array.isArray(input)) return fail("rules", "must be an array of fault rules");
  return input.map((raw: unknown, i): FaultRule => {
    const at = `rules[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(at, "must be an object");
    const r = raw as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!["peer", "direction", "action", "delayMs", "probability"].includes(key)) fail(`${at}.${key}`, "unknown field");
    }
    if (typeof r.peer !== "string" || r.peer === "") fail(`${at}.peer`, "must be a non-empty string (a process name or \"*\")");
    const direction = r.direction ?? "both";
    if (direction !== "in" && direction !== "out" && direction !== "both") fail(`${at}.direction`, 'must be "in", "out" or "both"');
    if (r.action !== "drop" && r.action !== "delay") fail(`${at}.action`, 'must be "drop" or "delay"');
    const probability = r.probability ?? 1;
    if (typeof probability !== "number" || !(probability >= 0 && probability <= 1)) fail(`${at}.probability`, "must be a number in [0, 1]");
    const rule: FaultRule = {
      peer: r.peer as string,
      direction: direction as FaultDirection,
      action: r.action as "drop" | "delay",
      probability: probability as number,
    };
    if (r.action === "delay") {
      const d = r.delayMs;
      if (typeof d !== "number" || !Number.isFinite(d) || d < 0 || d > MAX_DELAY_MS) fail(`${at}.delayMs`, `must be a number of ms in [0, ${MAX_DELAY_MS}]`);
      rule.delayMs = d as number;
    } else if (r.delayMs !== undefined) {
      fail(`${at}.delayMs`, 'only allowed with action "delay"');
    }
    return rule;
  });
}

