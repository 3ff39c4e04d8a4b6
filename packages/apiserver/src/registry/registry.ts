/** The set of served resources, looked up by group/version/plural, kind, or short name. */
import type { ResourceDef } from "./types.js";
import { coreResources } from "./core.js";
import { appsResources } from "./apps.js";
import { otherResources } from "./others.js";

export interface GroupVersion {
  group: string;
  version: string;
}

/** Served resources, grouped for discovery. */
export class Registry {
  readonly resources: readonly ResourceDef[];
  private readonly byPath = new Map<string, ResourceDef>();

  constructor(resources: readonly ResourceDef[]) {
    this.resources = resources;
    for (const r of resources) {
      const key = `${r.group}/${r.version}/${r.plural}`;
      if (this.byPath.has(key)) throw new Error(`resource ${key} declared twice`);
      this.byPath.set(key, r);
    }
  }

  /** The resource at /api(s)/<group>/<version>/<plural>, or undefined. */
  lookup(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  /** The resource serving kind in group/version. */
  byKind(group: string, version: string, kind: string): ResourceDef | undefined {
    return this.resources.find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  /** Group/versions in discovery order: core first, then groups by first declaration. */
  groupVersions(): GroupVersion[] {
    const seen = new Set<string>();
    const out: GroupVersion[] = [];
    for (const r of this.resources) {
      const k = `${r.group}/${r.version}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ group: r.group, version: r.version });
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.resources.filter((r) => r.group === group && r.version === version);
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.resources.some((r) => r.group === group && r.version === version);
  }
}

/** Every built-in resource kubemu serves. */
export function builtinRegistry(): Registry {
  return new Registry([...coreResources, ...appsResources, ...otherResources]);
}
