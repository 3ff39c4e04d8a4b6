/**
 * Where Go's base64.StdEncoding would refuse a `[]byte` field (Secret data, ConfigMap binaryData),
 * so the API server can answer with the decoder's own words: `illegal base64 data at input byte N`.
 * Like Go, line breaks are skipped anywhere and padding is required.
 */
const ALPHABET = /[A-Za-z0-9+/]/;

/** The byte offset Go reports for a malformed value, or undefined if it decodes. */
export function base64ErrorOffset(s: string): number | undefined {
  let quantum = 0; // significant characters in the current group of four
  let quantumStart = 0;
  let padded = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\n" || c === "\r") continue;
    if (padded) {
      // After the padding only one more '=' (completing "xx==") or line breaks may follow.
      if (c === "=" && quantum === 3) {
        quantum = 0;
        continue;
      }
      return i;
    }
    if (quantum === 0) quantumStart = i;
    if (c === "=") {
      if (quantum < 2) return i;
      padded = true;
      if (quantum === 3) quantum = 0;
      else quantum = 3;
      continue;
    }
    if (!ALPHABET.test(c)) return i;
    quantum = (quantum + 1) % 4;
  }
  if (quantum !== 0) return quantumStart;
  return undefined;
}
