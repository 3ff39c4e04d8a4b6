/**
 * Indexed Jobs (upstream's indexed_job_utils.go): each pod carries its completion index in the
 * `batch.kubernetes.io/job-completion-index` annotation and label; succeeded and failed indexes
 * are kept in status as ordered intervals printed "1,3-5,7".
 */
import type { Pod, PodTemplateSpec } from "kubernetes-types/core/v1.js";
import type { JobObject } from "./util.js";

export const COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
export const INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count";
export const INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count";
export const COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX";
/** Upstream's names.MaxGeneratedNameLength (63 minus the 5 random characters). */
const MAX_GENERATED_NAME_LENGTH = 58;

export const UNKNOWN_INDEX = -1;

export function isIndexedJob(job: JobObject): boolean {
  return job.spec?.completionMode === "Indexed";
}

export function hasBackoffLimitPerIndex(job: JobObject): boolean {
  return job.spec?.backoffLimitPerIndex !== undefined && job.spec.backoffLimitPerIndex !== null;
}

/** The pod's completion index, or UNKNOWN_INDEX when missing, not a number or negative. */
export function completionIndex(pod: Pod): number {
  const v = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return UNKNOWN_INDEX;
  const i = Number(v);
  return i < 0 || !Number.isSafeInteger(i) ? UNKNOWN_INDEX : i;
}

/** A closed range of indexes. */
export interface Interval {
  first: number;
  last: number;
}

/** Sorted, non-overlapping, non-adjacent intervals (upstream's orderedIntervals). */
export class OrderedIntervals {
  constructor(readonly intervals: readonly Interval[] = []) {}

  /** Parses "1,3-5,7" keeping indexes below `completions`; corrupt parts are skipped. */
  static parse(text: string | undefined | null, completions: number): OrderedIntervals {
    if (!text) return new OrderedIntervals();
    const out: Interval[] = [];
    for (const part of text.split(",")) {
      const limits = part.split("-");
      const first = parseIntStrict(limits[0]!);
      if (first === undefined) continue;
      if (first >= completions) break;
      let last = first;
      if (limits.length > 1) {
        const l = parseIntStrict(limits[1]!);
        if (l === undefined) continue;
        last = Math.min(l, completions - 1);
      }
      const prev = out[out.length - 1];
      if (prev && prev.last === first - 1) prev.last = last;
      else out.push({ first, last });
    }
    return new OrderedIntervals(out);
  }

  /** These intervals plus the (ascending) indexes. */
  withOrderedIndexes(indexes: readonly number[]): OrderedIntervals {
    return this.merge(new OrderedIntervals(indexes.map((i) => ({ first: i, last: i }))));
  }

  merge(other: OrderedIntervals): OrderedIntervals {
    const result: Interval[] = [];
    const push = (iv: Interval) => {
      const last = result[result.length - 1];
      if (!last || iv.first > last.last + 1) result.push({ ...iv });
      else if (last.last < iv.last) last.last = iv.last;
    };
    const a = this.intervals;
    const b = other.intervals;
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) push(a[i]!.first < b[j]!.first ? a[i++]! : b[j++]!);
    while (i < a.length) push(a[i++]!);
    while (j < b.length) push(b[j++]!);
    return new OrderedIntervals(result);
  }

  total(): number {
    return this.intervals.reduce((n, iv) => n + iv.last - iv.first + 1, 0);
  }

  has(ix: number): boolean {
    let lo = 0;
    let hi = this.intervals.length;
    while (hi > lo) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.intervals[mid]!.last >= ix) hi = mid;
      else lo = mid + 1;
    }
    return hi < this.intervals.length && this.intervals[hi]!.first <= ix;
  }

  get length(): number {
    return this.intervals.length;
  }

  /** "1,3-5,7": two consecutive indexes print as "3,4", three or more as a range. */
  toString(): string {
    return this.intervals.map((v) => (v.last === v.first ? `${v.first}` : v.last === v.first + 1 ? `${v.first},${v.last}` : `${v.first}-${v.last}`)).join(",");
  }
}

function parseIntStrict(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  return Number(s);
}

/** The distinct completion indexes of the pods. */
export function indexesOf(pods: readonly Pod[]): Set<number> {
  const out = new Set<number>();
  for (const p of pods) {
    const ix = completionIndex(p);
    if (ix !== UNKNOWN_INDEX) out.add(ix);
  }
  return out;
}

export function ascending(s: Iterable<number>): number[] {
  return [...s].sort((a, b) => a - b);
}

/** Orders pods by completion index (unknown first), as upstream's byCompletionIndex. */
export function byCompletionIndex(a: Pod, b: Pod): number {
  return completionIndex(a) - completionIndex(b);
}

/** `<job>-<index>-`, cut like upstream's podGenerateNameWithIndex when the job name is long. */
export function podGenerateNameWithIndex(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const prefix = `${jobName}${suffix}`;
  return prefix.length > MAX_GENERATED_NAME_LENGTH ? `${prefix.slice(0, MAX_GENERATED_NAME_LENGTH - suffix.length)}${suffix}` : prefix;
}

/** Adds JOB_COMPLETION_INDEX (from the index label, as with PodIndexLabel on) to every container. */
export function addCompletionIndexEnv(template: PodTemplateSpec): void {
  const spec = template.spec;
  if (!spec) return;
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const env = ((c as { env?: unknown[] }).env ??= []) as { name: string }[];
    if (env.some((v) => v.name === COMPLETION_INDEX_ENV)) continue;
    env.push({ name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX_ANNOTATION}']` } } } as { name: string });
  }
}

/** Sets the index annotation and label, and hostname `<job>-<index>`, on a pod template. */
export function stampCompletionIndex(template: PodTemplateSpec, jobName: string, index: number): void {
  const meta = (template.metadata ??= {});
  (meta.annotations ??= {})[COMPLETION_INDEX_ANNOTATION] = String(index);
  (meta.labels ??= {})[COMPLETION_INDEX_ANNOTATION] = String(index);
  if (template.spec) template.spec.hostname = `${jobName}-${index}`;
}

/** An int32 annotation; 0 when absent, unparseable or out of range (upstream's parseInt32). */
export function int32Annotation(pod: Pod, key: string): number {
  const v = pod.metadata?.annotations?.[key];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n < 0 || n > 2 ** 31 - 1 ? 0 : n;
}

export function indexFailureCount(pod: Pod): number {
  return int32Annotation(pod, INDEX_FAILURE_COUNT_ANNOTATION);
}

/** Failures counted against the index plus those a pod failure policy ignored. */
export function indexAbsoluteFailureCount(pod: Pod): number {
  return int32Annotation(pod, INDEX_FAILURE_COUNT_ANNOTATION) + int32Annotation(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
}
