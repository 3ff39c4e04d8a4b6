/** Pod and pod-template defaulting as upstream's SetDefaults_Pod/PodSpec/Container. */
import type { KubeObject } from "../storage/index.js";
import { compareQuantities, parseQuantity } from "@kubemu/common";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** imagePullPolicy: Always for `:latest` or untagged images, else IfNotPresent (digests too). */
export function defaultPullPolicy(image: unknown): string {
  if (typeof image !== "string") return "IfNotPresent";
  if (image.includes("@")) return "IfNotPresent";
  const lastSlash = image.lastIndexOf("/");
  const tagAt = image.indexOf(":", lastSlash + 1);
  if (tagAt === -1) return "Always";
  return image.slice(tagAt + 1) === "latest" ? "Always" : "IfNotPresent";
}

function defaultContainer(c: Obj): void {
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.resources ??= {};
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObj(p)) p.protocol ??= "TCP";
  if (Array.isArray(c.env))
    for (const e of c.env) {
      const fr = isObj(e) && isObj(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
      if (isObj(fr)) fr.apiVersion ??= "v1";
    }
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (!isObj(probe)) continue;
    probe.timeoutSeconds ??= 1;
    probe.periodSeconds ??= 10;
    probe.successThreshold ??= 1;
    probe.failureThreshold ??= 3;
    if (isObj(probe.httpGet)) probe.httpGet.scheme ??= "HTTP";
    if (isObj(probe.httpGet)) probe.httpGet.path ??= "/";
  }
}

/** Defaults a PodSpec in place (used for pods and every pod template). */
export function defaultPodSpec(spec: unknown): void {
  if (!isObj(spec)) return;
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.securityContext ??= {};
  spec.schedulerName ??= "default-scheduler";
  for (const list of [spec.containers, spec.initContainers]) if (Array.isArray(list)) for (const c of list) if (isObj(c)) defaultContainer(c);
  if (Array.isArray(spec.volumes))
    for (const v of spec.volumes) {
      if (!isObj(v)) continue;
      for (const src of ["configMap", "secret"]) if (isObj(v[src])) v[src].defaultMode ??= 420;
      if (isObj(v.hostPath)) v.hostPath.type ??= "";
      if (isObj(v.downwardAPI)) v.downwardAPI.defaultMode ??= 420;
      if (isObj(v.projected)) v.projected.defaultMode ??= 420;
    }
}

/** Pod-only defaults on top of the spec: enableServiceLinks, status.phase on create. */
export function defaultPod(pod: KubeObject): void {
  const spec = pod.spec as Obj | undefined;
  defaultPodSpec(spec);
  if (isObj(spec)) {
    for (const list of [spec.containers, spec.initContainers]) if (Array.isArray(list)) for (const c of list) if (isObj(c)) defaultRequestsToLimits(c);
    spec.enableServiceLinks ??= true;
    // spec.priority and spec.preemptionPolicy are the Priority admission plugin's (admission/priority.ts).
    // The v1 conversion: the deprecated serviceAccount fills serviceAccountName, and mirrors it. The
    // `default` account is the ServiceAccount admission plugin's (not for mirror pods).
    if (!spec.serviceAccountName && typeof spec.serviceAccount === "string" && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
    if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  }
  if (!isObj(pod.status)) pod.status = {};
  const status = pod.status as Obj;
  status.phase ??= "Pending";
  // The v1 conversion keeps the singular and plural IP fields in step.
  if (typeof status.podIP === "string" && status.podIP && !Array.isArray(status.podIPs)) status.podIPs = [{ ip: status.podIP }];
  if (typeof status.hostIP === "string" && status.hostIP && !Array.isArray(status.hostIPs)) status.hostIPs = [{ ip: status.hostIP }];
  status.qosClass ??= qosClass(spec);
}

/**
 * A limit with no matching request becomes the request too (upstream SetDefaults_Pod; pods only,
 * not templates, so a Deployment's template keeps what the user wrote).
 */
function defaultRequestsToLimits(c: Obj): void {
  const res = c.resources;
  if (!isObj(res) || !isObj(res.limits)) return;
  if (!isObj(res.requests)) res.requests = {};
  for (const [k, v] of Object.entries(res.limits)) res.requests[k] ??= v;
}

/** BestEffort / Burstable / Guaranteed from the containers' requests and limits. */
export function qosClass(spec: unknown): string {
  if (!isObj(spec) || !Array.isArray(spec.containers)) return "BestEffort";
  let any = false;
  let guaranteed = true;
  for (const c of spec.containers as Obj[]) {
    const req = isObj(c.resources?.requests) ? c.resources.requests : {};
    const lim = isObj(c.resources?.limits) ? c.resources.limits : {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ["cpu", "memory"]) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && !sameQuantity(req[r], lim[r])) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** Equal values, however spelled (1Gi = 1073741824); unparsable ones compare as text. */
function sameQuantity(a: unknown, b: unknown): boolean {
  try {
    return compareQuantities(parseQuantity(String(a)), parseQuantity(String(b))) === 0;
  } catch {
    return String(a) === String(b);
  }
}
