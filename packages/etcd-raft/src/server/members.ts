/**
 * The member registry: which members exist (Raft id, name, peer URL) and where each serves
 * clients. It is replicated state: changed only by applied log entries (conf changes and
 * `publish` entries) and carried in snapshots, so every member agrees on it.
 */
import { createHash } from "node:crypto";
import type { Member } from "../api/index.js";

/**
 * The Raft id of a member, derived from its name so every member computes the same ids from
 * --initial-cluster without talking: the first 48 bits of SHA-256(name), never 0.
 */
export function memberIdOf(name: string): number {
  const h = createHash("sha256").update(`kubemu-etcd/member/${name}`).digest();
  const id = h.readUIntBE(0, 6);
  return id === 0 ? 1 : id;
}

/** A cluster id derived from the initial member list (informational; written into the WAL). */
export function clusterIdOf(members: { name: string; peerUrl: string }[]): string {
  const text = members
    .map((m) => `${m.name}=${m.peerUrl}`)
    .sort()
    .join(",");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** The replicated member table. */
export class MemberRegistry {
  private readonly byId = new Map<number, Member>();

  /** Adds or replaces a member (peer URL from a conf change). Keeps a published client URL. */
  upsert(id: number, name: string, peerUrl: string): Member {
    const prev = this.byId.get(id);
    const m: Member = { id, name, peerUrls: [peerUrl], clientUrls: prev?.clientUrls ?? [] };
    this.byId.set(id, m);
    return m;
  }

  /** Records the client URL a member published; ignored for unknown members. */
  publish(id: number, clientUrl: string): void {
    const m = this.byId.get(id);
    if (m) this.byId.set(id, { ...m, clientUrls: [clientUrl] });
  }

  remove(id: number): void {
    this.byId.delete(id);
  }

  get(id: number): Member | undefined {
    return this.byId.get(id);
  }

  byName(name: string): Member | undefined {
    for (const m of this.byId.values()) if (m.name === name) return m;
    return undefined;
  }

  /** Every member, by name. */
  list(): Member[] {
    return [...this.byId.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Replaces the whole table (snapshot restore). */
  replace(members: readonly Member[]): void {
    this.byId.clear();
    for (const m of members) this.byId.set(m.id, { id: m.id, name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls] });
  }
}
