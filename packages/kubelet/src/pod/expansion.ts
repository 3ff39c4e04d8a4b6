/**
 * Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion): `$(NAME)` becomes the
 * variable's value when it is defined and stays as written when it is not; `$$` is an escaped `$`
 * (so `$$(NAME)` is the literal `$(NAME)`); a `$` before anything else, or an unclosed `$(`, stays.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== "$" || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close === -1) {
        // An incomplete reference is literal; scanning goes on after its "$(".
        out += "$(";
        i += 2;
        continue;
      }
      const name = input.slice(i + 2, close);
      const value = name === "" ? undefined : lookup(name);
      out += value ?? `$(${name})`;
      i = close + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
