/** Object-metadata bookkeeping on create/update: uid, timestamps, generation, generateName. */
import { randomUUID } from "node:crypto";
import type { Rng } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";

/** Kubernetes' rand.String alphabet: no vowels (no accidental words), no ambiguous characters. */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** A random suffix of n characters for generateName and ReplicaSet/pod names. */
export function randomSuffix(rng: Rng, n = 5): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHANUMS[rng.int(ALPHANUMS.length)];
  return s;
}

/** RFC 3339 with second precision, as metav1.Time marshals. */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** True when anything outside metadata and status (and status too, when `withStatus`) differs: what bumps generation. */
export function specChanged(a: KubeObject, b: KubeObject, withStatus = false): boolean {
  const strip = (o: KubeObject) => {
    const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = o;
    return withStatus ? { ...rest, status } : rest;
  };
  return !deepEqual(strip(a), strip(b));
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as any)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as any)[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual((a as any)[k], (b as any)[k]));
}

/** Fills the metadata a server sets on create (name from generateName, uid, creationTimestamp, generation). */
export function prepareCreateMeta(obj: KubeObject, rng: Rng, nowMs: number, tracksGeneration: boolean): void {
  const m = obj.metadata;
  if (!m.name && m.generateName) m.name = m.generateName + randomSuffix(rng);
  m.uid = randomUUID();
  m.creationTimestamp = timestamp(nowMs);
  delete m.resourceVersion;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  if (tracksGeneration) m.generation = 1;
  else delete m.generation;
  if (m.labels && Object.keys(m.labels).length === 0) delete m.labels;
  if (m.annotations && Object.keys(m.annotations).length === 0) delete m.annotations;
}

/** Carries over the server-owned metadata from the current object into an update. */
export function prepareUpdateMeta(next: KubeObject, cur: KubeObject, tracksGeneration: boolean, statusBumpsGeneration = false): void {
  const m = next.metadata;
  const c = cur.metadata;
  m.uid = c.uid;
  m.creationTimestamp = c.creationTimestamp;
  if (c.deletionTimestamp) m.deletionTimestamp = c.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (c.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
  if (m.generateName === undefined && c.generateName !== undefined) m.generateName = c.generateName;
  if (tracksGeneration) m.generation = (c.generation ?? 1) + (specChanged(next, cur, statusBumpsGeneration) ? 1 : 0);
  else delete m.generation;
  if (m.labels && Object.keys(m.labels).length === 0) delete m.labels;
  if (m.annotations && Object.keys(m.annotations).length === 0) delete m.annotations;
  if (m.finalizers && m.finalizers.length === 0) delete m.finalizers;
}
