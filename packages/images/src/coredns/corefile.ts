/**
 * The Corefile (Caddy's syntax): server blocks `ZONE[:PORT]... { directive args... }`, a directive's
 * own `{ ... }` block of property lines, `#` comments, quoted tokens and `{$ENV}` substitution.
 * Directive names are checked against CoreDNS's plugin list; a name CoreDNS does not know fails in
 * its words (`Corefile:5 - Error during parsing: Unknown directive 'foo'`).
 */

export interface Directive {
  name: string;
  args: string[];
  line: number;
  /** The property lines of the directive's `{ ... }` block. */
  block: Directive[];
}

export interface ServerKey {
  /** Lower case, with a trailing dot ("." or "cluster.local."). */
  zone: string;
  port: number;
}

export interface ServerBlock {
  keys: ServerKey[];
  directives: Directive[];
}

/** Every directive CoreDNS 1.11 knows (plugin.cfg), in its order: the order plugins run in. */
export const PLUGIN_ORDER = [
  "root", "metadata", "geoip", "cancel", "tls", "timeouts", "reload", "nsid", "bufsize", "bind", "debug", "trace", "ready", "health",
  "pprof", "prometheus", "errors", "log", "dnstap", "local", "dns64", "acl", "any", "chaos", "loadbalance", "tsig", "cache", "rewrite",
  "header", "dnssec", "autopath", "minimal", "template", "transfer", "hosts", "route53", "azure", "clouddns", "k8s_external",
  "kubernetes", "file", "auto", "secondary", "etcd", "loop", "forward", "grpc", "erratic", "whoami", "on", "sign", "view",
] as const;

export class CorefileError extends Error {}

interface Token {
  text: string;
  line: number;
  /** A line break came before this token. */
  newline: boolean;
}

function tokenize(text: string, env: Record<string, string | undefined>): Token[] {
  const out: Token[] = [];
  let line = 1;
  let newline = true;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      newline = true;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === '"') {
      let s = "";
      const start = line;
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && text[i + 1] === '"') i++;
        if (text[i] === "\n") line++;
        s += text[i];
        i++;
      }
      i++;
      out.push({ text: s, line: start, newline });
      newline = false;
    } else {
      let s = "";
      while (i < text.length && !/[\s#]/.test(text[i]!)) s += text[i++];
      s = s.replace(/\{\$([A-Za-z0-9_]+)\}/g, (_, v: string) => env[v] ?? "");
      out.push({ text: s, line, newline });
      newline = false;
    }
  }
  return out;
}

function parseKey(file: string, t: Token): ServerKey {
  let s = t.text.replace(/^dns:\/\//, "");
  let port = 53;
  const colon = s.lastIndexOf(":");
  if (colon >= 0) {
    const p = Number(s.slice(colon + 1));
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new CorefileError(`${file}:${t.line} - Error during parsing: Could not parse port: ${s.slice(colon + 1)}`);
    port = p;
    s = s.slice(0, colon);
  }
  if (s === "") s = ".";
  s = s.toLowerCase();
  return { zone: s.endsWith(".") ? s : `${s}.`, port };
}

/** Parses a Corefile; `file` names it in errors as CoreDNS does (the -conf path). */
export function parseCorefile(text: string, file = "Corefile", env: Record<string, string | undefined> = process.env): ServerBlock[] {
  const toks = tokenize(text, env);
  const known = new Set<string>(PLUGIN_ORDER);
  const blocks: ServerBlock[] = [];
  let i = 0;
  const err = (t: Token | undefined, msg: string) => new CorefileError(`${file}:${t?.line ?? 1} - Error during parsing: ${msg}`);
  while (i < toks.length) {
    const keys: ServerKey[] = [];
    while (i < toks.length && toks[i]!.text !== "{") {
      for (const part of toks[i]!.text.split(",").filter(Boolean)) keys.push(parseKey(file, { ...toks[i]!, text: part }));
      i++;
    }
    if (i >= toks.length) throw err(toks[i - 1], "Unexpected EOF");
    const open = toks[i++]!;
    if (keys.length === 0) throw err(open, "Unexpected '{'");
    const directives: Directive[] = [];
    for (;;) {
      const t = toks[i];
      if (!t) throw err(toks[i - 1], "Unexpected EOF");
      if (t.text === "}") {
        i++;
        break;
      }
      if (!known.has(t.text)) throw err(t, `Unknown directive '${t.text}'`);
      const d: Directive = { name: t.text, args: [], line: t.line, block: [] };
      i++;
      while (i < toks.length && !toks[i]!.newline && toks[i]!.text !== "{" && toks[i]!.text !== "}") d.args.push(toks[i++]!.text);
      if (toks[i]?.text === "{" && !toks[i]!.newline) {
        i++;
        for (;;) {
          const p = toks[i];
          if (!p) throw err(toks[i - 1], "Unexpected EOF");
          if (p.text === "}") {
            i++;
            break;
          }
          const prop: Directive = { name: p.text, args: [], line: p.line, block: [] };
          i++;
          while (i < toks.length && !toks[i]!.newline && toks[i]!.text !== "}") prop.args.push(toks[i++]!.text);
          d.block.push(prop);
        }
      }
      directives.push(d);
    }
    blocks.push({ keys, directives });
  }
  if (blocks.length === 0) throw new CorefileError(`${file}:1 - Error during parsing: no server blocks`);
  return blocks;
}

/** Go's time.ParseDuration for the forms a Corefile uses (5s, 500ms, 1m30s). */
export function parseDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n * 3_600_000;
    consumed += m[0].length;
  }
  return consumed === s.length && s.length > 0 ? total : undefined;
}
