/**
 * The kubelet's image manager (pkg/kubelet/images) over the catalog: imagePullPolicy decides
 * whether to "pull"; a pull is a short simulated wait (pulls are serialized, as upstream's
 * default, so a second pod waiting for the same image reports time "including waiting"); images
 * not in the catalog fail as an unknown repository would, and a failed pull backs off per pod
 * and image. Events and messages are upstream's. Pulled images are remembered on disk.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Container } from "kubernetes-types/core/v1.js";
import { ImageCatalog, InvalidImageReference, parseReference, repositoryOf, withDefaultTag, type ResolvedImage } from "@kubemu/images";
import type { Clock, Rng } from "@kubemu/common";
import { Backoff } from "../pod/backoff.js";
import { formatGoDuration } from "../util/go-duration.js";
import { findOnPath } from "./executables.js";

export type PullResult =
  | { ok: true; image: ResolvedImage }
  | { ok: false; reason: "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull" | "InvalidImageName"; message: string };

export type EventSink = (type: "Normal" | "Warning", reason: string, message: string) => void;

export interface ImageManagerOptions {
  catalog: () => ImageCatalog;
  clock: Clock;
  rng: Rng;
  pullMinMs: number;
  pullMaxMs: number;
  backoff: Backoff;
  /** File remembering which images this node has (survives kubelet restarts, like the runtime's store). */
  stateFile: string;
  hostPath: string;
}

/** Upstream's error text for an image no registry has. */
export function unknownImageMessage(name: string, repositoryKnown: boolean): string {
  const ref = parseReference(name);
  if (ref.domain === "docker.io" && !repositoryKnown) {
    return `failed to pull and unpack image "${name}": failed to resolve reference "${name}": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`;
  }
  return `failed to pull and unpack image "${name}": failed to resolve reference "${name}": ${name}: not found`;
}

export class ImageManager {
  private readonly present = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: ImageManagerOptions) {
    try {
      if (existsSync(o.stateFile)) for (const [k, v] of Object.entries(JSON.parse(readFileSync(o.stateFile, "utf8")) as Record<string, number>)) this.present.set(k, v);
    } catch {
      // A damaged record only costs a pull.
    }
  }

  /** Images on the node, for node status. */
  images(): { names: string[]; sizeBytes: number }[] {
    return [...this.present.entries()].map(([name, size]) => {
      const at = name.lastIndexOf(":");
      const repo = at > name.lastIndexOf("/") ? name.slice(0, at) : name;
      return { names: [name, `${repo}@${this.o.catalog().resolve(name)?.imageID.split("@")[1] ?? ""}`], sizeBytes: size };
    });
  }

  private save(): void {
    try {
      mkdirSync(dirname(this.o.stateFile), { recursive: true });
      writeFileSync(this.o.stateFile, JSON.stringify(Object.fromEntries(this.present)));
    } catch {
      // Best effort.
    }
  }

  /** EnsureImageExists: pulls per policy; events go to `event` (a reference to the container). */
  async ensure(podUid: string, container: Container, event: EventSink): Promise<PullResult> {
    const image = container.image ?? "";
    let resolved: ResolvedImage | undefined;
    let repositoryKnown = false;
    let name: string;
    try {
      const ref = withDefaultTag(parseReference(image));
      name = `${repositoryOf(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
      resolved = this.o.catalog().resolve(image);
      repositoryKnown = resolved !== undefined || this.o.catalog().resolve(`${repositoryOf(ref)}:latest`) !== undefined;
    } catch (e) {
      const why = e instanceof InvalidImageReference ? e.message : String(e);
      const msg = `Failed to apply default image tag "${image}": ${why}`;
      event("Warning", "InspectFailed", msg);
      return { ok: false, reason: "InvalidImageName", message: msg };
    }
    const present = resolved !== undefined && this.present.has(resolved.name);
    const policy = container.imagePullPolicy ?? (/:latest$|^[^:]*$/.test(image.split("/").pop() ?? "") ? "Always" : "IfNotPresent");
    const shouldPull = policy === "Always" || (policy === "IfNotPresent" && !present);
    if (!shouldPull) {
      if (present) {
        event("Normal", "Pulled", `Container image "${image}" already present on machine`);
        return { ok: true, image: resolved! };
      }
      const msg = `Container image "${image}" is not present with pull policy of Never`;
      event("Warning", "ErrImageNeverPull", msg);
      return { ok: false, reason: "ErrImageNeverPull", message: msg };
    }
    const key = `${podUid}_${image}`;
    const now = this.o.clock.now();
    if (this.o.backoff.isInBackOffSinceUpdate(key, now)) {
      const msg = `Back-off pulling image "${image}"`;
      event("Normal", "BackOff", msg);
      return { ok: false, reason: "ImagePullBackOff", message: msg };
    }
    event("Normal", "Pulling", `Pulling image "${image}"`);
    const start = this.o.clock.monotonic();
    const pullMs = await this.serialized(async () => {
      const t0 = this.o.clock.monotonic();
      // An image another pod pulled while this one waited its turn is there already: no second
      // download, and no timer either (in a burst every pod of the node queues behind the first
      // pull, and a timer per pod, late by the event loop's delay each, made that queue seconds long).
      const already = resolved !== undefined && this.present.has(resolved.name);
      if (!already) await this.o.clock.sleep(this.o.rng.range(this.o.pullMinMs, this.o.pullMaxMs));
      return this.o.clock.monotonic() - t0;
    });
    let failure: string | undefined;
    if (!resolved) failure = unknownImageMessage(name, repositoryKnown);
    else {
      const missing = (resolved.entry.requires ?? []).filter((b) => !findOnPath(b, this.o.hostPath));
      if (missing.length > 0) failure = `failed to pull and unpack image "${resolved.name}": kubemu runs this image with the host's ${missing.join(", ")}, which is not installed on this machine (Debian: apt-get install ${missing.map((m) => (m === "redis-server" ? "redis-server" : m)).join(" ")})`;
    }
    if (failure) {
      event("Warning", "Failed", `Failed to pull image "${image}": ${failure}`);
      this.o.backoff.next(key, this.o.clock.now());
      return { ok: false, reason: "ErrImagePull", message: failure };
    }
    const total = this.o.clock.monotonic() - start;
    if (!this.present.has(resolved!.name)) {
      this.present.set(resolved!.name, resolved!.entry.sizeBytes);
      this.save();
    }
    event("Normal", "Pulled", `Successfully pulled image "${image}" in ${formatGoDuration(Math.floor(pullMs))} (${formatGoDuration(Math.floor(total))} including waiting). Image size: ${resolved!.entry.sizeBytes} bytes.`);
    this.o.backoff.gc(this.o.clock.now());
    return { ok: true, image: resolved! };
  }

  /** How long until a failed pull of image for this pod may be tried again. */
  retryAfterMs(podUid: string, image: string): number {
    return this.o.backoff.get(`${podUid}_${image}`);
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
