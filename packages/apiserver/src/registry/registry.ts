/**
 * The set of served resources, looked up by group/version/plural, kind, or short name. Built-in
 * resources are fixed at construction; CustomResourceDefinitions add and remove theirs at runtime
 * (`set`/`remove` by owner), and listeners (discovery, OpenAPI caches) hear every change.
 */
import type { ResourceDef } from "./types.js";
import { coreResources } from "./core.js";
import { appsResources } from "./apps.js";
import { otherResources } from "./others.js";
import { metricsResources } from "./metrics.js";

export interface GroupVersion {
  group: string;
  version: string;
}

/** Served resources, grouped for discovery. */
export class Registry {
  private current: readonly ResourceDef[];
  private byPath = new Map<string, ResourceDef>();
  /** Resources added at runtime, by owner (a CRD name), in the order owners first appeared. */
  private readonly dynamic = new Map<string, readonly ResourceDef[]>();
  private readonly builtins: readonly ResourceDef[];
  private readonly listeners = new Set<() => void>();
  private gen = 0;

  constructor(resources: readonly ResourceDef[]) {
    this.builtins = resources;
    this.current = resources;
    for (const r of resources) {
      const key = pathKey(r);
      if (this.byPath.has(key)) throw new Error(`resource ${key} declared twice`);
      this.byPath.set(key, r);
    }
  }

  /**
   * Every served resource. The array is replaced (never mutated) on each change, so callers may
   * cache derived documents per array instance.
   */
  get resources(): readonly ResourceDef[] {
    return this.current;
  }

  /** Increases on every change; lets callers tell whether what they derived is stale. */
  get generation(): number {
    return this.gen;
  }

  /** Calls fn after every change; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Serves exactly `defs` for `owner` (replacing what it served before). Throws, changing nothing,
   * if one of them takes a group/version/plural another owner or a built-in already serves.
   */
  set(owner: string, defs: readonly ResourceDef[]): void {
    const own = new Set(this.dynamic.get(owner) ?? []);
    const seen = new Set<string>();
    for (const d of defs) {
      const key = pathKey(d);
      const taken = this.byPath.get(key);
      if ((taken && !own.has(taken)) || seen.has(key)) throw new Error(`resource ${key} is already served`);
      seen.add(key);
    }
    this.dynamic.set(owner, defs);
    this.rebuild();
  }

  /** Stops serving what `owner` added; a no-op for an unknown owner. */
  remove(owner: string): void {
    if (!this.dynamic.delete(owner)) return;
    this.rebuild();
  }

  /** What `owner` serves now ([] if nothing). */
  ownedBy(owner: string): readonly ResourceDef[] {
    return this.dynamic.get(owner) ?? [];
  }

  private rebuild(): void {
    const all = [...this.builtins];
    for (const defs of this.dynamic.values()) all.push(...defs);
    this.current = all;
    this.byPath = new Map(all.map((r) => [pathKey(r), r]));
    this.gen++;
    for (const fn of this.listeners) fn();
  }

  /** The resource at /api(s)/<group>/<version>/<plural>, or undefined. */
  lookup(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  /** The resource serving kind in group/version. */
  byKind(group: string, version: string, kind: string): ResourceDef | undefined {
    return this.current.find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  /** Group/versions in discovery order: core first, then groups by first declaration. */
  groupVersions(): GroupVersion[] {
    const seen = new Set<string>();
    const out: GroupVersion[] = [];
    for (const r of this.current) {
      const k = `${r.group}/${r.version}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ group: r.group, version: r.version });
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.current.filter((r) => r.group === group && r.version === version);
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.current.some((r) => r.group === group && r.version === version);
  }
}

const pathKey = (r: ResourceDef): string => `${r.group}/${r.version}/${r.plural}`;

/** Every built-in resource kubemu serves. */
export function builtinRegistry(): Registry {
  return new Registry([...coreResources, ...appsResources, ...otherResources, ...metricsResources]);
}
