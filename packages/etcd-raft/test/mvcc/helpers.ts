// Small helpers shared by the MVCC tests.
import type { KeyValue, MvccEvent, WatchMessage, Watcher } from "@kubemu/etcd-raft";

const decoder = new TextDecoder();

/** str decodes UTF-8 bytes. */
export function str(b: Uint8Array): string {
  return decoder.decode(b);
}

/** brief renders a kv as "key=value@mod/v<version>" for readable assertions. */
export function brief(kv: KeyValue): string {
  return `${str(kv.key)}=${str(kv.value)}@${kv.modRevision}/v${kv.version}`;
}

/** eventBrief renders an event as "PUT key=value@rev" or "DELETE key@rev". */
export function eventBrief(ev: MvccEvent): string {
  return ev.type === "PUT" ? `PUT ${str(ev.kv.key)}=${str(ev.kv.value)}@${ev.kv.modRevision}` : `DELETE ${str(ev.kv.key)}@${ev.kv.modRevision}`;
}

/** drain polls a watcher until it has nothing more to give (catching up from history as needed). */
export function drain(w: Watcher): WatchMessage[] {
  const out: WatchMessage[] = [];
  for (;;) {
    const batch = w.poll();
    if (batch.length === 0 && w.pending === 0) return out;
    out.push(...batch);
  }
}

/** eventsOf flattens the event messages of a message list. */
export function eventsOf(msgs: WatchMessage[]): MvccEvent[] {
  return msgs.flatMap((m) => (m.kind === "events" ? m.events : []));
}
