import type { KvInput, KvOutput } from "../support/linearizability.js";

/** A client write as carried in a log entry: a unique op id and the operation. */
export interface KvCommand {
  id: string;
  input: KvInput;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

/** Decodes entry data; empty data (a leader's no-op) is undefined. */
export function decodeCommand(data: Uint8Array): KvCommand | undefined {
  if (data.byteLength === 0) return undefined;
  return JSON.parse(dec.decode(data)) as KvCommand;
}

/** The replicated state machine: a string map with put / compare-and-swap, and reads. */
export class KvStateMachine {
  data = new Map<string, string>();

  apply(input: KvInput): KvOutput {
    switch (input.op) {
      case "get":
        return { value: this.data.get(input.key) ?? null };
      case "put":
        this.data.set(input.key, input.value);
        return {};
      case "cas": {
        const cur = this.data.get(input.key) ?? null;
        if (cur !== input.from) return { ok: false };
        this.data.set(input.key, input.to);
        return { ok: true };
      }
    }
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify([...this.data.entries()].sort()));
  }

  static restore(data: Uint8Array): KvStateMachine {
    const kv = new KvStateMachine();
    if (data.byteLength > 0) kv.data = new Map(JSON.parse(dec.decode(data)) as [string, string][]);
    return kv;
  }

  fingerprint(): string {
    return JSON.stringify([...this.data.entries()].sort());
  }
}
