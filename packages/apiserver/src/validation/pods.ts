/** PodSpec validation: the required fields and value sets kubectl users hit first. */
import type { FieldError } from "../registry/types.js";
import { dns1123Label, duplicate, invalid, notSupported, required } from "./fields.js";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function validateContainers(list: unknown, path: string, names: Set<string>, requireOne: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (list === undefined || list === null) {
    if (requireOne) errs.push(required(path));
    return errs;
  }
  if (!Array.isArray(list)) return [invalid(path, list, "must be a list")];
  if (requireOne && list.length === 0) errs.push(required(path));
  list.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(c)) {
      errs.push(invalid(p, c, "must be an object"));
      return;
    }
    if (!c.name) errs.push(required(`${p}.name`));
    else if (typeof c.name !== "string" || dns1123Label(c.name)) errs.push(invalid(`${p}.name`, c.name, dns1123Label(String(c.name)) ?? "must be a string"));
    else if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else names.add(c.name);
    if (!c.image) errs.push(required(`${p}.image`));
    if (c.imagePullPolicy !== undefined && !["Always", "IfNotPresent", "Never"].includes(c.imagePullPolicy))
      errs.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ["Always", "IfNotPresent", "Never"]));
    if (Array.isArray(c.ports))
      c.ports.forEach((port: Obj, j: number) => {
        const pp = `${p}.ports[${j}]`;
        const n = port?.containerPort;
        if (n === undefined) errs.push(required(`${pp}.containerPort`));
        else if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535) errs.push(invalid(`${pp}.containerPort`, n, "must be between 1 and 65535, inclusive"));
        if (port?.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(port.protocol)) errs.push(notSupported(`${pp}.protocol`, port.protocol, ["SCTP", "TCP", "UDP"]));
      });
  });
  return errs;
}

/** Validates a PodSpec at `path` ("spec" for pods, "spec.template.spec" for templates). */
export function validatePodSpec(spec: unknown, path: string, allowedRestartPolicies = ["Always", "OnFailure", "Never"]): FieldError[] {
  if (!isObj(spec)) return [required(path)];
  const names = new Set<string>();
  const errs = [
    ...validateContainers(spec.containers, `${path}.containers`, names, true),
    ...validateContainers(spec.initContainers, `${path}.initContainers`, names, false),
  ];
  if (spec.restartPolicy !== undefined && !allowedRestartPolicies.includes(spec.restartPolicy))
    errs.push(notSupported(`${path}.restartPolicy`, spec.restartPolicy, allowedRestartPolicies));
  if (spec.dnsPolicy !== undefined && !["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"].includes(spec.dnsPolicy))
    errs.push(notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]));
  const volumeNames = new Set<string>();
  if (Array.isArray(spec.volumes))
    spec.volumes.forEach((v: Obj, i: number) => {
      const vp = `${path}.volumes[${i}]`;
      if (!v?.name) errs.push(required(`${vp}.name`));
      else if (volumeNames.has(v.name)) errs.push(duplicate(`${vp}.name`, v.name));
      else volumeNames.add(v.name);
    });
  for (const [key, list] of [
    ["containers", spec.containers],
    ["initContainers", spec.initContainers],
  ] as const)
    if (Array.isArray(list))
      list.forEach((c: Obj, i: number) => {
        if (!Array.isArray(c?.volumeMounts)) return;
        c.volumeMounts.forEach((vm: Obj, j: number) => {
          const mp = `${path}.${key}[${i}].volumeMounts[${j}]`;
          if (!vm?.name) errs.push(required(`${mp}.name`));
          else if (!volumeNames.has(vm.name) && !isClaimTemplateName(vm.name)) errs.push({ reason: "FieldValueNotFound", field: `${mp}.name`, message: `Not found: ${JSON.stringify(vm.name)}` });
          if (!vm?.mountPath) errs.push(required(`${mp}.mountPath`));
        });
      });
  return errs;
}

// StatefulSet templates mount volumeClaimTemplates by name; the caller registers those.
let claimTemplateNames: Set<string> | undefined;
const isClaimTemplateName = (n: string) => claimTemplateNames?.has(n) ?? false;

/** Runs fn with extra volume names treated as declared (StatefulSet volumeClaimTemplates). */
export function withClaimTemplates<T>(names: string[], fn: () => T): T {
  claimTemplateNames = new Set(names);
  try {
    return fn();
  } finally {
    claimTemplateNames = undefined;
  }
}

/**
 * Pod updates may change only images, activeDeadlineSeconds, tolerations (additions) and
 * schedulingGates (removals), as upstream's ValidatePodUpdate.
 */
export function validatePodUpdate(spec: unknown, oldSpec: unknown): FieldError[] {
  if (!isObj(spec) || !isObj(oldSpec)) return [];
  const mask = (s: Obj, other: Obj): Obj => {
    const out = structuredClone(s);
    for (const list of ["containers", "initContainers", "ephemeralContainers"]) {
      if (!Array.isArray(out[list])) continue;
      out[list] = out[list].map((c: Obj, i: number) => (isObj(c) ? { ...c, image: other[list]?.[i]?.image ?? c.image } : c));
    }
    delete out.activeDeadlineSeconds;
    delete out.tolerations;
    delete out.schedulingGates;
    delete out.ephemeralContainers;
    return out;
  };
  const errs: FieldError[] = [];
  if (JSON.stringify(mask(spec, oldSpec)) !== JSON.stringify(mask(oldSpec, oldSpec)))
    errs.push({
      reason: "FieldValueForbidden",
      field: "spec",
      message:
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    });
  const oldTol: unknown[] = Array.isArray(oldSpec.tolerations) ? oldSpec.tolerations : [];
  const newTol: unknown[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  const kept = new Set(newTol.map((t) => JSON.stringify(t)));
  if (oldTol.some((t) => !kept.has(JSON.stringify(t))))
    errs.push({ reason: "FieldValueForbidden", field: "spec.tolerations", message: "Forbidden: existing toleration can not be modified except its tolerationSeconds" });
  return errs;
}
