/**
 * Admission as kube-apiserver runs it: one ordered chain of named plugins. A write passes every
 * plugin's mutating step (`admit`) in chain order, then the object's validation, then every
 * plugin's validating step (`validate`) in the same order, then storage. Each plugin decides
 * itself which requests it acts on (group, resource, subresource, operation), so the generic
 * store never branches on a kind. `--disable-admission-plugins` turns plugins off by name.
 */
import type { Admission, ResourceDef } from "../registry/types.js";

/** What a plugin sees (upstream's admission.Attributes). */
export interface AdmissionRequest extends Admission {
  /** The resource written (its group and plural say which; never match on the kind alone). */
  def: ResourceDef;
  /** Set for writes through a subresource ("status", "binding", ...). */
  subresource?: string;
  /** The request's namespace; undefined for cluster-scoped resources. */
  namespace?: string;
}

/** One admission plugin, by upstream's name. */
export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating step: may change `object`; throw a StatusError to refuse. */
  admit?(r: AdmissionRequest): void | Promise<void>;
  /** Validating step (after object validation): throw a StatusError to refuse; must not change anything. */
  validate?(r: AdmissionRequest): void | Promise<void>;
}

export class AdmissionChain {
  constructor(
    readonly plugins: readonly AdmissionPlugin[],
    private readonly disabled: ReadonlySet<string> = new Set(),
  ) {}

  /** The plugins that run, in order (upstream's --enable-admission-plugins after ordering). */
  enabledNames(): string[] {
    return this.plugins.filter((p) => !this.disabled.has(p.name)).map((p) => p.name);
  }

  async admit(r: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) if (p.admit && !this.disabled.has(p.name)) await p.admit(r);
  }

  async validate(r: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) if (p.validate && !this.disabled.has(p.name)) await p.validate(r);
  }
}

/** True when r writes the resource itself (no subresource) of group/plural. */
export function writes(r: AdmissionRequest, group: string, plural: string): boolean {
  return r.def.group === group && r.def.plural === plural && !r.subresource;
}
