/**
 * A Service changed to a type that uses no node ports (NodePort → ClusterIP, say) drops the node
 * ports and the health-check node port it still carries from before (the latter also when
 * externalTrafficPolicy leaves Local), as upstream's service strategy does in
 * dropTypeDependentFields — but only values the user left as they were: a node port the user
 * set anew on a ClusterIP service is still refused by validation.
 */
import type { Admission } from "../registry/types.js";

type Obj = Record<string, any>;
const usesNodePorts = (type: unknown) => type === "NodePort" || type === "LoadBalancer";

const needsHealthCheck = (spec: Obj) => spec.type === "LoadBalancer" && spec.externalTrafficPolicy === "Local";

export function dropTypeDependentFields(a: Admission): void {
  if (a.operation !== "UPDATE" || !a.object || !a.old) return;
  const spec = (a.object.spec ?? {}) as Obj;
  const oldSpec = (a.old.spec ?? {}) as Obj;
  // No longer a Local-policy LoadBalancer: the health-check node port it carried goes (if left as it was).
  if (needsHealthCheck(oldSpec) && !needsHealthCheck(spec) && spec.healthCheckNodePort === oldSpec.healthCheckNodePort) delete spec.healthCheckNodePort;
  if (!usesNodePorts(oldSpec.type) || usesNodePorts(spec.type)) return;
  const oldPorts: Obj[] = Array.isArray(oldSpec.ports) ? oldSpec.ports : [];
  const ports: Obj[] = Array.isArray(spec.ports) ? spec.ports : [];
  const unchanged = ports.every((p) => p.nodePort === undefined || oldPorts.some((o) => o.nodePort === p.nodePort));
  if (unchanged) for (const p of ports) delete p.nodePort;
  if (spec.healthCheckNodePort !== undefined && spec.healthCheckNodePort === oldSpec.healthCheckNodePort) delete spec.healthCheckNodePort;
}
