/**
 * The image catalog: what each image reference runs. An entry carries the image's config as a
 * registry would (ENTRYPOINT, CMD, ENV, WORKDIR, STOPSIGNAL, size) and the executables it
 * provides: an argv prefix ("nginx", "node app.js") mapped to one of this package's programs or
 * to a host binary. Anything else in argv runs from the host userland (the sandbox shows the
 * host's root read-only), so `busybox`, `alpine` or `ubuntu` with a shell command just work.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { builtinImages } from "./builtin.js";
import { parseReference, qualifiedName, repositoryOf, withDefaultTag, type ImageReference } from "./reference.js";

/**
 * What an argv prefix runs. `args` go before the rest of argv and `appendArgs` after it;
 * `${POD_IP}` in either is the pod's IP.
 */
export type Executable =
  /** One of this package's programs (dist/programs/<name>.js), run with the host's node. */
  | { program: string; args?: string[]; appendArgs?: string[] }
  /** A binary from the host, looked up on the host's PATH (`redis-server`). */
  | { host: string; args?: string[]; appendArgs?: string[] }
  /** An entrypoint script that ends in `exec "$@"`: the rest of argv runs as a command. */
  | { passthrough: true };

export interface ImageEntry {
  /** Repository without tag, normalized: docker.io/library/nginx, registry.k8s.io/pause. */
  repository: string;
  /** Tags this entry serves; "*" for any. */
  tags: string[] | "*";
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  /** The signal a stop sends first (the image's STOPSIGNAL), SIGTERM by default. */
  stopSignal?: NodeJS.Signals;
  /** argv prefixes (space-joined) the image provides. */
  executables?: Record<string, Executable>;
  /** Put the host's busybox applets first on PATH (busybox images). */
  busybox?: boolean;
  /** Host binaries the image needs; pulling fails clearly without them. */
  requires?: string[];
  /** Compressed size a pull reports. */
  sizeBytes: number;
  /** Where the entry came from (for messages): "builtin" or the user file. */
  source?: string;
}

/** An image resolved for one reference. */
export interface ResolvedImage {
  entry: ImageEntry;
  /** docker.io/library/nginx:latest */
  name: string;
  /** docker.io/library/nginx@sha256:… */
  imageID: string;
}

/** A stable digest for a reference (no registry exists: the digest is made from the name). */
export function digestOf(name: string): string {
  return `sha256:${createHash("sha256").update(`kubemu-image:${name}`).digest("hex")}`;
}

/** Where the built programs live (dist/programs/, also when this module runs from src/ under tests). */
export const programsDir = fileURLToPath(new URL("./programs/", import.meta.url)).replace(/\/src\/programs\/$/, "/dist/programs/");

export function programPath(name: string): string {
  return `${programsDir}${name}.js`;
}

/** A user catalog file could not be used. */
export class CatalogFileError extends Error {
  constructor(file: string, why: string) {
    super(`${file}: ${why}`);
    this.name = "CatalogFileError";
  }
}

function strings(v: unknown, what: string, file: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw new CatalogFileError(file, `${what} must be a list of strings`);
  return v as string[];
}

/**
 * Reads ~/.kubemu/images.yaml:
 *   images:
 *     - image: myorg/app           # repository, any registry
 *       tags: ["1.0", "latest"]    # optional; default any tag
 *       entrypoint: ["node", "/home/me/app/server.js"]
 *       cmd: []
 *       env: {PORT: "8080"}
 *       workingDir: /home/me/app
 *       program: /home/me/app/server.js   # optional: what argv[0] of the entrypoint runs (with node)
 * A missing file is no entries.
 */
export function loadUserCatalog(file: string): ImageEntry[] {
  if (!existsSync(file)) return [];
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (e) {
    throw new CatalogFileError(file, e instanceof Error ? e.message : String(e));
  }
  if (doc === null || doc === undefined) return [];
  const list = (doc as { images?: unknown }).images;
  if (!Array.isArray(list)) throw new CatalogFileError(file, "expected a top-level `images:` list");
  return list.map((raw, i): ImageEntry => {
    const e = raw as Record<string, unknown>;
    if (typeof e.image !== "string") throw new CatalogFileError(file, `images[${i}].image must be a string`);
    let ref: ImageReference;
    try {
      ref = parseReference(e.image);
    } catch (err) {
      throw new CatalogFileError(file, `images[${i}].image: ${(err as Error).message}`);
    }
    const tags = strings(e.tags, `images[${i}].tags`, file) ?? (ref.tag ? [ref.tag] : "*");
    const entrypoint = strings(e.entrypoint, `images[${i}].entrypoint`, file);
    const env = e.env === undefined ? undefined : Object.fromEntries(Object.entries(e.env as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    const executables: Record<string, Executable> = {};
    if (typeof e.program === "string" && entrypoint?.[0]) executables[entrypoint[0]] = { host: process.execPath, args: [e.program] };
    return {
      repository: repositoryOf(ref),
      tags,
      ...(entrypoint ? { entrypoint } : {}),
      ...(strings(e.cmd, `images[${i}].cmd`, file) ? { cmd: strings(e.cmd, `images[${i}].cmd`, file)! } : {}),
      ...(env ? { env } : {}),
      ...(typeof e.workingDir === "string" ? { workingDir: e.workingDir } : {}),
      ...(Object.keys(executables).length ? { executables } : {}),
      sizeBytes: typeof e.sizeBytes === "number" ? e.sizeBytes : 10_000_000,
      source: file,
    };
  });
}

export class ImageCatalog {
  constructor(private readonly entries: readonly ImageEntry[]) {}

  /** The built-in catalog, with user entries first (they win). */
  static withUserFile(file: string | undefined): ImageCatalog {
    return new ImageCatalog([...(file ? loadUserCatalog(file) : []), ...builtinImages]);
  }

  /** The entry for an image reference, or undefined (the image "does not exist"). Throws InvalidImageReference. */
  resolve(image: string): ResolvedImage | undefined {
    const ref = withDefaultTag(parseReference(image));
    const repo = repositoryOf(ref);
    const entry = this.entries.find((e) => e.repository === repo && (e.tags === "*" || (ref.tag !== undefined && e.tags.includes(ref.tag)) || (ref.tag === undefined && ref.digest !== undefined)));
    if (!entry) return undefined;
    const name = qualifiedName(ref);
    return { entry, name, imageID: `${repo}@${ref.digest ?? digestOf(name)}` };
  }
}

/**
 * The process a container runs, Docker's way: `command` replaces ENTRYPOINT (and drops CMD),
 * `args` replace CMD.
 */
export function containerArgv(entry: Pick<ImageEntry, "entrypoint" | "cmd">, command: readonly string[] | undefined, args: readonly string[] | undefined): string[] {
  if (command && command.length > 0) return [...command, ...(args ?? [])];
  return [...(entry.entrypoint ?? []), ...(args && args.length > 0 ? args : (entry.cmd ?? []))];
}

/** The image executable argv starts with (longest matching prefix), with the rest of argv. */
export function matchExecutable(entry: Pick<ImageEntry, "executables">, argv: readonly string[]): { executable: Executable; rest: string[] } | undefined {
  let best: { executable: Executable; rest: string[]; len: number } | undefined;
  for (const [prefix, executable] of Object.entries(entry.executables ?? {})) {
    const words = prefix.split(" ");
    if (words.length > argv.length) continue;
    if (!words.every((w, i) => argv[i] === w)) continue;
    if (!best || words.length > best.len) best = { executable, rest: argv.slice(words.length), len: words.length };
  }
  return best && { executable: best.executable, rest: best.rest };
}
