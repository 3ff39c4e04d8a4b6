/**
 * Image references as the container runtime reads them (docker/distribution's
 * ParseNormalizedNamed): `nginx` is `docker.io/library/nginx:latest`, `luksa/kubia` is
 * `docker.io/luksa/kubia:latest`, a first component with a dot, a colon or `localhost` is a
 * registry. Bad references are upstream's errors.
 */

export interface ImageReference {
  /** docker.io, registry.k8s.io... */
  domain: string;
  /** library/nginx, luksa/kubia, pause... */
  path: string;
  /** Tag, when given (or defaulted to latest by withDefaultTag). */
  tag: string | undefined;
  digest: string | undefined;
}

export class InvalidImageReference extends Error {
  constructor(
    readonly image: string,
    reason: string,
  ) {
    super(`couldn't parse image reference "${image}": invalid reference format${reason ? `: ${reason}` : ""}`);
    this.name = "InvalidImageReference";
  }
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

export function parseReference(image: string): ImageReference {
  if (image === "" || image.trim() !== image) throw new InvalidImageReference(image, "");
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidImageReference(image, "");
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidImageReference(image, "");
  }
  const parts = rest.split("/");
  let domain = "docker.io";
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    domain = first;
    parts.shift();
  }
  if (domain === "index.docker.io") domain = "docker.io";
  for (const p of parts) {
    if (p !== p.toLowerCase()) throw new InvalidImageReference(image, "repository name must be lowercase");
    if (!COMPONENT.test(p)) throw new InvalidImageReference(image, "");
  }
  if (domain === "docker.io" && parts.length === 1) parts.unshift("library");
  return { domain, path: parts.join("/"), tag, digest };
}

/** docker.io/library/nginx (no tag). */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The reference with `:latest` when it names neither a tag nor a digest. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: "latest" };
}

/** The fully qualified name containerStatuses report: docker.io/library/nginx:latest. */
export function qualifiedName(ref: ImageReference): string {
  const r = withDefaultTag(ref);
  return `${repositoryOf(r)}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}
