/**
 * The node conditions the kubelet owns (upstream's nodestatus setters): MemoryPressure,
 * DiskPressure, PIDPressure and Ready, in that order, with upstream's reasons and messages.
 * lastHeartbeatTime moves on every post, lastTransitionTime only when the status flips; each flip
 * is an event on the Node ("Node kubemu status is now: NodeHasSufficientMemory").
 */

export interface NodeCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

/** What the kubelet observed about its node. */
export interface NodeObservation {
  memoryPressure: boolean;
  diskPressure: boolean;
  pidPressure: boolean;
  /** undefined: ready; otherwise why not (the NotReady message). */
  notReady: string | undefined;
}

export interface ConditionChange {
  /** The event reason: NodeHasSufficientMemory, NodeReady, NodeNotReady... */
  event: string;
  type: "Normal";
}

interface Wording {
  type: string;
  on: boolean;
  trueReason: string;
  trueMessage: string;
  falseReason: string;
  falseMessage: string;
  /** Events when the condition becomes true / false. */
  trueEvent: string;
  falseEvent: string;
}

function wordings(o: NodeObservation): Wording[] {
  return [
    { type: "MemoryPressure", on: o.memoryPressure, trueReason: "KubeletHasInsufficientMemory", trueMessage: "kubelet has insufficient memory available", falseReason: "KubeletHasSufficientMemory", falseMessage: "kubelet has sufficient memory available", trueEvent: "NodeHasInsufficientMemory", falseEvent: "NodeHasSufficientMemory" },
    { type: "DiskPressure", on: o.diskPressure, trueReason: "KubeletHasDiskPressure", trueMessage: "kubelet has disk pressure", falseReason: "KubeletHasNoDiskPressure", falseMessage: "kubelet has no disk pressure", trueEvent: "NodeHasDiskPressure", falseEvent: "NodeHasNoDiskPressure" },
    { type: "PIDPressure", on: o.pidPressure, trueReason: "KubeletHasInsufficientPID", trueMessage: "kubelet has insufficient PID available", falseReason: "KubeletHasSufficientPID", falseMessage: "kubelet has sufficient PID available", trueEvent: "NodeHasInsufficientPID", falseEvent: "NodeHasSufficientPID" },
    { type: "Ready", on: o.notReady === undefined, trueReason: "KubeletReady", trueMessage: "kubelet is posting ready status", falseReason: "KubeletNotReady", falseMessage: o.notReady ?? "", trueEvent: "NodeReady", falseEvent: "NodeNotReady" },
  ];
}

/** The conditions to post now, given the ones on the Node; and the events of each flip. */
export function nodeConditions(previous: readonly NodeCondition[] | undefined, o: NodeObservation, now: string): { conditions: NodeCondition[]; changes: ConditionChange[] } {
  const changes: ConditionChange[] = [];
  const conditions = wordings(o).map((w): NodeCondition => {
    const status = w.on ? "True" : "False";
    const old = previous?.find((c) => c.type === w.type);
    const flipped = !old || old.status !== status;
    // Upstream's Ready setter records an event only for a flip, not when it first sets the condition.
    if (flipped && (old || w.type !== "Ready")) changes.push({ event: w.on ? w.trueEvent : w.falseEvent, type: "Normal" });
    return {
      type: w.type,
      status,
      reason: w.on ? w.trueReason : w.falseReason,
      message: w.on ? w.trueMessage : w.falseMessage,
      lastHeartbeatTime: now,
      lastTransitionTime: flipped ? now : old.lastTransitionTime,
    };
  });
  return { conditions, changes };
}

/** Whether two condition lists differ in anything but heartbeat times. */
export function conditionsChanged(a: readonly NodeCondition[] | undefined, b: readonly NodeCondition[]): boolean {
  if (!a || a.length !== b.length) return true;
  return b.some((c) => {
    const o = a.find((x) => x.type === c.type);
    return !o || o.status !== c.status || o.reason !== c.reason || o.message !== c.message || o.lastTransitionTime !== c.lastTransitionTime;
  });
}
