/**
 * A linearizability checker for client histories: the Wing & Gong search with the state cache and
 * per-key partitioning that Porcupine (Athalye) adds. Used by the Raft simulator on virtual-time
 * histories and by the chaos tests on histories recorded against real processes.
 *
 * A history is a set of operations, each with the time it was called and the time it returned.
 * It is linearizable when some total order of the operations (1) respects real time — an operation
 * that returned before another was called comes first — and (2) replays against the sequential
 * model with every operation producing the output it actually observed.
 *
 * Operations whose outcome is unknown (the client timed out, the connection died) have
 * `ret = Infinity` and no output: they may have taken effect at any point after their call, or not
 * at all. Placing one last is the same as "never took effect", so one search covers both.
 */

/** One client operation. `ret = Infinity` with `output` undefined means the outcome is unknown. */
export interface Operation<I, O> {
  client: number;
  input: I;
  call: number;
  output?: O;
  ret: number;
}

/** A sequential specification of the system under test. */
export interface Model<S, I, O> {
  init(): S;
  /**
   * Applies input to state. `ok` is whether the model could have produced `output`; an undefined
   * output (unknown outcome) must be accepted. Must not mutate `state`.
   */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** Splits a history into independent sub-histories (e.g. one per key), each checked alone. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  /** A canonical string for a state, for the search cache. Defaults to JSON.stringify. */
  key?(state: S): string;
}

export interface CheckResult {
  /** true only when a linearization was found for every partition. */
  ok: boolean;
  /** The search hit maxSteps before deciding: the answer is unknown (ok is false). */
  exhausted?: boolean;
  /** For a failure: which partition failed and the longest prefix that did linearize. */
  info?: string;
}

export interface CheckOptions {
  /** Upper bound on search steps per partition (default 5,000,000). */
  maxSteps?: number;
}

interface Node {
  op: number;
  isCall: boolean;
  time: number;
  /** For a call node, its return node. */
  match?: Node;
  prev?: Node;
  next?: Node;
}

/** Checks that history is linearizable with respect to model. */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[], opts: CheckOptions = {}): CheckResult {
  for (const op of history) {
    if (!(op.ret >= op.call)) return { ok: false, info: `operation of client ${op.client} returns (${op.ret}) before it is called (${op.call})` };
  }
  const parts = model.partition ? model.partition(history) : [history];
  for (const [i, part] of parts.entries()) {
    const r = checkPartition(model, part, opts.maxSteps ?? 5_000_000);
    if (!r.ok) return { ...r, info: `partition ${i} (${part.length} ops): ${r.info ?? ""}` };
  }
  return { ok: true };
}

function buildList<I, O>(history: Operation<I, O>[]): Node | undefined {
  const events: Node[] = [];
  history.forEach((op, i) => {
    const ret: Node = { op: i, isCall: false, time: op.ret };
    const call: Node = { op: i, isCall: true, time: op.call, match: ret };
    events.push(call, ret);
  });
  // By time; at equal times calls first, so touching operations count as concurrent (the lenient reading).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Node = { op: -1, isCall: false, time: -Infinity };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

/** Removes a call and its return from the list (the operation is linearized). */
function lift(call: Node): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Undoes lift, in reverse order. */
function unlift(call: Node): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return Array.from(this.words, (w) => w.toString(36)).join(",");
  }
}

function checkPartition<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[], maxSteps: number): CheckResult {
  if (history.length === 0) return { ok: true };
  const keyOf = model.key ?? ((s: S) => JSON.stringify(s));
  const head = buildList(history)!;
  const linearized = new Bitset(history.length);
  const seen = new Set<string>();
  const stack: { call: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let longest = 0;
  let steps = 0;

  while (head.next) {
    if (++steps > maxSteps) return { ok: false, exhausted: true, info: `search exceeded ${maxSteps} steps` };
    if (!entry) return { ok: false, info: "internal: ran off the end of the history" };
    if (entry.isCall) {
      const op = history[entry.op]!;
      const next = model.step(state, op.input, op.output);
      let advanced = false;
      if (next.ok) {
        linearized.set(entry.op);
        const cacheKey = `${linearized.key()}|${keyOf(next.state)}`;
        if (!seen.has(cacheKey)) {
          seen.add(cacheKey);
          stack.push({ call: entry, state });
          state = next.state;
          lift(entry);
          longest = Math.max(longest, stack.length);
          entry = head.next;
          advanced = true;
        } else {
          linearized.clear(entry.op);
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // A return whose call is not yet linearized: this prefix cannot be completed; backtrack.
      const top = stack.pop();
      if (!top) return { ok: false, info: `no linearization; longest linearizable prefix ${longest} of ${history.length} ops` };
      state = top.state;
      linearized.clear(top.call.op);
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// A register-per-key KV model: get / put / compare-and-swap, partitioned by key.

export type KvInput =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: string }
  | { op: "cas"; key: string; from: string | null; to: string };

/** get → value (null = absent); cas → ok; put → {} */
export type KvOutput = { value?: string | null; ok?: boolean };

type KvState = Map<string, string | null>;

function kvStep(state: KvState, input: KvInput, output: KvOutput | undefined): { ok: boolean; state: KvState } {
  const current = state.get(input.key) ?? null;
  switch (input.op) {
    case "get":
      return { ok: output === undefined || (output.value ?? null) === current, state };
    case "put":
      return { ok: true, state: new Map(state).set(input.key, input.value) };
    case "cas": {
      const matches = current === input.from;
      if (output === undefined) return { ok: true, state: matches ? new Map(state).set(input.key, input.to) : state };
      if (output.ok !== matches) return { ok: false, state };
      return { ok: true, state: matches ? new Map(state).set(input.key, input.to) : state };
    }
  }
}

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => new Map(),
  step: kvStep,
  partition(history) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      // A read with an unknown outcome tells nothing.
      if (op.input.op === "get" && op.output === undefined) continue;
      let list = byKey.get(op.input.key);
      if (!list) byKey.set(op.input.key, (list = []));
      list.push(op);
    }
    return [...byKey.values()];
  },
  key: (state) => JSON.stringify([...state.entries()].sort()),
};
