/**
 * What the EndpointSlice controllers last wrote, per Service (upstream's EndpointSliceTracker):
 * lets a sync tell that the informer has not caught up with its own writes yet (a slice it made
 * is missing, or shows an older version, or one it deleted is still there), and lets the slice
 * event handlers ignore the echoes of those writes while still reacting to anyone else's.
 *
 * Upstream tracks metadata.generation; kubemu's EndpointSlices carry no generation, so this
 * tracks resourceVersions, which kubemu's API servers hand out from one increasing revision.
 */
import type { KubeObject } from "@kubemu/common";

const DELETION_EXPECTED = "deletion-expected";

/** a newer than b (resourceVersions as revisions; unparseable ones just differ). */
function newer(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return BigInt(a) > BigInt(b);
  } catch {
    return a !== b;
  }
}

export class EndpointSliceTracker {
  /** service key → slice uid → resourceVersion written (or DELETION_EXPECTED). */
  private readonly byService = new Map<string, Map<string, string>>();

  constructor(private readonly serviceKeyOf: (slice: KubeObject) => string | undefined) {}

  private forSlice(slice: KubeObject): Map<string, string> | undefined {
    const key = this.serviceKeyOf(slice);
    return key === undefined ? undefined : this.byService.get(key);
  }

  has(slice: KubeObject): boolean {
    return this.forSlice(slice)?.has(slice.metadata.uid ?? "") ?? false;
  }

  /** True unless this is the version we wrote (or an older one): someone else changed it. */
  shouldSync(slice: KubeObject): boolean {
    const written = this.forSlice(slice)?.get(slice.metadata.uid ?? "");
    if (written === undefined) return true;
    if (written === DELETION_EXPECTED) return false;
    return newer(slice.metadata.resourceVersion, written);
  }

  /** True when the cached slices are behind this controller's writes for the Service. */
  staleSlices(serviceKey: string, slices: readonly KubeObject[]): boolean {
    const expected = this.byService.get(serviceKey);
    if (!expected) return false;
    const seen = new Set<string>();
    for (const s of slices) {
      const uid = s.metadata.uid ?? "";
      seen.add(uid);
      const written = expected.get(uid);
      if (written === undefined) continue;
      if (written === DELETION_EXPECTED || newer(written, s.metadata.resourceVersion ?? "0")) return true;
    }
    for (const [uid, written] of expected) if (written !== DELETION_EXPECTED && !seen.has(uid)) return true;
    return false;
  }

  /** Records a slice as written (created or updated). */
  update(slice: KubeObject): void {
    const key = this.serviceKeyOf(slice);
    if (key === undefined) return;
    let m = this.byService.get(key);
    if (!m) this.byService.set(key, (m = new Map()));
    m.set(slice.metadata.uid ?? "", slice.metadata.resourceVersion ?? "0");
  }

  expectDeletion(slice: KubeObject): void {
    const key = this.serviceKeyOf(slice);
    if (key === undefined) return;
    let m = this.byService.get(key);
    if (!m) this.byService.set(key, (m = new Map()));
    m.set(slice.metadata.uid ?? "", DELETION_EXPECTED);
  }

  /** Forgets a deleted slice; false when we did not expect it to go (the Service should resync). */
  handleDeletion(slice: KubeObject): boolean {
    const m = this.forSlice(slice);
    if (!m) return true;
    const uid = slice.metadata.uid ?? "";
    const written = m.get(uid);
    m.delete(uid);
    return written === undefined || written === DELETION_EXPECTED;
  }

  deleteService(namespace: string, name: string): void {
    this.byService.delete(`${namespace}/${name}`);
  }
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";

/** `<namespace>/<kubernetes.io/service-name>`: the Service (or Endpoints) a slice belongs to. */
export function serviceKeyOfSlice(slice: KubeObject): string | undefined {
  const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return name ? `${slice.metadata.namespace}/${name}` : undefined;
}
