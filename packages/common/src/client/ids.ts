/** Random identifiers from the injected Rng (nanoid's alphabet handling over our random source). */
import { customRandom } from "nanoid";
import type { Rng } from "../rng.js";

const LOWER_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A random id of `size` lowercase letters and digits, drawn from rng (so a seed replays it). */
export function randomId(rng: Rng, size = 4): string {
  return customRandom(LOWER_ALNUM, size, (bytes) => {
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) out[i] = rng.int(256);
    return out;
  })();
}

/** A leader-election holder identity: `<process name>_<random id>` (e.g. `scheduler-1_x7k2`). */
export function holderIdentity(processName: string, rng: Rng): string {
  return `${processName}_${randomId(rng)}`;
}
