/**
 * CycleState: per-scheduling-cycle data plugins hand from one extension point to the next
 * (PreFilter → Filter, PreScore → Score). Preemption clones it once per candidate node and feeds
 * pod removals through the PreFilter extensions, so state that AddPod/RemovePod change must
 * implement `clone()`; immutable state may return itself.
 */

/** A value stored in the CycleState. */
export interface StateData {
  clone(): StateData;
}

export class CycleState {
  private readonly data = new Map<string, StateData>();
  /** Filter plugins whose PreFilter returned Skip: the framework does not run their Filter. */
  skipFilterPlugins = new Set<string>();
  /** Score plugins whose PreScore returned Skip. */
  skipScorePlugins = new Set<string>();

  /** The value under key, or undefined. */
  read<T extends StateData>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  /** Stores a value under key. */
  write(key: string, value: StateData): void {
    this.data.set(key, value);
  }

  /** Removes key. */
  delete(key: string): void {
    this.data.delete(key);
  }

  /** A copy whose values are cloned (upstream's CycleState.Clone). */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v.clone());
    c.skipFilterPlugins = new Set(this.skipFilterPlugins);
    c.skipScorePlugins = new Set(this.skipScorePlugins);
    return c;
  }
}
