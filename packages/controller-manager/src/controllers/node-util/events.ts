/** Events the node controllers record about nodes (upstream's RecordNodeEvent and RecordNodeStatusChange). */
import type { KubeObject } from "@kubemu/common";
import type { Recorder } from "../../controller/context.js";

/** The reference upstream builds for a node: v1 Node, its name and uid (events land in "default"). */
function nodeRef(name: string, uid: string | undefined): KubeObject {
  return { apiVersion: "v1", kind: "Node", metadata: { name, ...(uid ? { uid } : {}) } };
}

/** "Node x event: <message>" on the node. */
export function recordNodeEvent(recorder: Recorder, nodeName: string, uid: string | undefined, type: "Normal" | "Warning", reason: string, message: string): void {
  recorder.event(nodeRef(nodeName, uid), type, reason, `Node ${nodeName} event: ${message}`);
}

/** "Node x status is now: NodeNotReady" on the node. */
export function recordNodeStatusChange(recorder: Recorder, node: KubeObject, newStatus: string): void {
  recorder.event(nodeRef(node.metadata.name!, node.metadata.uid), "Normal", newStatus, `Node ${node.metadata.name} status is now: ${newStatus}`);
}
