/** Score normalization helpers (upstream's plugins/helper/normalize_score.go). */
import { MAX_NODE_SCORE } from "../../framework/interface.js";

/**
 * Scales scores so the highest becomes maxPriority (integer division, as upstream); with
 * `reverse`, subtracts from maxPriority so the lowest raw score wins. All-zero scores become 0, or
 * maxPriority when reversed.
 */
export function defaultNormalizeScore(scores: number[], reverse: boolean, maxPriority = MAX_NODE_SCORE): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(maxPriority);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((maxPriority * scores[i]!) / max);
    if (reverse) s = maxPriority - s;
    scores[i] = s;
  }
}
