/** Validation of workload kinds: selector present and matching the template, replicas, strategies. */
import type { KubeObject } from "../storage/index.js";
import type { FieldError } from "../registry/types.js";
import { selectorFromObject } from "@kubemu/common";
import { forbidden, invalid, notSupported, required } from "./fields.js";
import { validatePodSpec, withClaimTemplates } from "./pods.js";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function nonNegative(v: unknown, field: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) return [invalid(field, v, "must be greater than or equal to 0")];
  return [];
}

/** Upstream prints the labels with Go's %#v: map[string]string{"app":"web"}, or map[string]string(nil) when unset. */
function labelsMismatch(field: string, labels: unknown): FieldError {
  const shown = isObj(labels)
    ? `map[string]string{${Object.keys(labels)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(labels[k]))}`)
        .join(", ")}}`
    : "map[string]string(nil)";
  return { reason: "FieldValueInvalid", field, message: `Invalid value: ${shown}: \`selector\` does not match template \`labels\`` };
}

/** spec.selector required, non-empty, and matching spec.template.metadata.labels. */
function selectorAndTemplate(spec: Obj, path = "spec"): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.selector;
  if (!isObj(sel)) errs.push(required(`${path}.selector`));
  else if (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)
    errs.push(invalid(`${path}.selector`, sel, "empty selector is invalid for deployment"));
  const labels = isObj(spec.template) && isObj(spec.template.metadata) ? spec.template.metadata.labels : undefined;
  if (isObj(sel) && !selectorFromObject(sel).matches(labels))
    errs.push(labelsMismatch(`${path}.template.metadata.labels`, labels));
  return errs;
}

const specOf = (o: KubeObject): Obj => (isObj(o.spec) ? o.spec : {});

export function validateDeployment(o: KubeObject, old?: KubeObject): FieldError[] {
  const s = specOf(o);
  const errs = [...nonNegative(s.replicas, "spec.replicas"), ...selectorAndTemplate(s)];
  errs.push(...validatePodSpec(s.template?.spec, "spec.template.spec", ["Always"]));
  const type = s.strategy?.type;
  if (type !== undefined && !["Recreate", "RollingUpdate"].includes(type)) errs.push(notSupported("spec.strategy.type", type, ["Recreate", "RollingUpdate"]));
  if (type === "Recreate" && s.strategy?.rollingUpdate) errs.push(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
  if (old && JSON.stringify(specOf(old).selector) !== JSON.stringify(s.selector))
    errs.push(invalid("spec.selector", s.selector, "field is immutable"));
  return errs;
}

export function validateReplicaSet(o: KubeObject, old?: KubeObject): FieldError[] {
  const s = specOf(o);
  const errs = [...nonNegative(s.replicas, "spec.replicas"), ...selectorAndTemplate(s)];
  errs.push(...validatePodSpec(s.template?.spec, "spec.template.spec", ["Always"]));
  if (old && JSON.stringify(specOf(old).selector) !== JSON.stringify(s.selector)) errs.push(invalid("spec.selector", s.selector, "field is immutable"));
  return errs;
}

export function validateReplicationController(o: KubeObject): FieldError[] {
  const s = specOf(o);
  const errs = nonNegative(s.replicas, "spec.replicas");
  if (!isObj(s.selector) || Object.keys(s.selector).length === 0) errs.push(required("spec.selector"));
  const labels = s.template?.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(isObj(s.selector) ? s.selector : {}))
    if (labels[k] !== v) {
      errs.push(labelsMismatch("spec.template.metadata.labels", s.template?.metadata?.labels));
      break;
    }
  errs.push(...validatePodSpec(s.template?.spec, "spec.template.spec", ["Always"]));
  return errs;
}

export function validateStatefulSet(o: KubeObject, old?: KubeObject): FieldError[] {
  const s = specOf(o);
  const errs = [...nonNegative(s.replicas, "spec.replicas"), ...selectorAndTemplate(s)];
  const claimNames = Array.isArray(s.volumeClaimTemplates) ? s.volumeClaimTemplates.map((t: Obj) => String(t?.metadata?.name ?? "")) : [];
  errs.push(...withClaimTemplates(claimNames, () => validatePodSpec(s.template?.spec, "spec.template.spec", ["Always"])));
  const pmp = s.podManagementPolicy;
  if (pmp !== undefined && !["OrderedReady", "Parallel"].includes(pmp)) errs.push(notSupported("spec.podManagementPolicy", pmp, ["OrderedReady", "Parallel"]));
  const ut = s.updateStrategy?.type;
  if (ut !== undefined && !["RollingUpdate", "OnDelete"].includes(ut)) errs.push(notSupported("spec.updateStrategy.type", ut, ["OnDelete", "RollingUpdate"]));
  if (old) {
    // Upstream: only replicas, ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy, minReadySeconds may change.
    const o2 = specOf(old);
    const frozen = ["selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates"];
    if (frozen.some((k) => JSON.stringify(o2[k]) !== JSON.stringify(s[k])))
      errs.push(
        forbidden(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
  }
  return errs;
}

export function validateDaemonSet(o: KubeObject, old?: KubeObject): FieldError[] {
  const s = specOf(o);
  const errs = selectorAndTemplate(s);
  errs.push(...validatePodSpec(s.template?.spec, "spec.template.spec", ["Always"]));
  if (old && JSON.stringify(specOf(old).selector) !== JSON.stringify(s.selector)) errs.push(invalid("spec.selector", s.selector, "field is immutable"));
  return errs;
}

export function validateJob(o: KubeObject, old?: KubeObject): FieldError[] {
  const s = specOf(o);
  const errs = [...nonNegative(s.parallelism, "spec.parallelism"), ...nonNegative(s.completions, "spec.completions"), ...nonNegative(s.backoffLimit, "spec.backoffLimit")];
  if (s.manualSelector === true) errs.push(...selectorAndTemplate(s));
  errs.push(...validatePodSpec(s.template?.spec, "spec.template.spec", ["OnFailure", "Never"]));
  if (s.template?.spec?.restartPolicy === undefined) errs.push(required("spec.template.spec.restartPolicy"));
  if (old) {
    const o2 = specOf(old);
    if (JSON.stringify(o2.template) !== JSON.stringify(s.template) && o2.suspend !== true) errs.push(invalid("spec.template", s.template, "field is immutable"));
    if (JSON.stringify(o2.selector) !== JSON.stringify(s.selector)) errs.push(invalid("spec.selector", s.selector, "field is immutable"));
    if (o2.completions !== s.completions && s.completionMode !== "Indexed") errs.push(invalid("spec.completions", s.completions, "field is immutable"));
  }
  return errs;
}

export function validateCronJob(o: KubeObject): FieldError[] {
  const s = specOf(o);
  const errs: FieldError[] = [];
  if (!s.schedule) errs.push(required("spec.schedule"));
  else if (typeof s.schedule !== "string" || !validCron(s.schedule)) errs.push(invalid("spec.schedule", s.schedule, "unparseable schedule"));
  const cp = s.concurrencyPolicy;
  if (cp !== undefined && !["Allow", "Forbid", "Replace"].includes(cp)) errs.push(notSupported("spec.concurrencyPolicy", cp, ["Allow", "Forbid", "Replace"]));
  const jt = s.jobTemplate?.spec;
  if (!isObj(jt)) errs.push(required("spec.jobTemplate.spec"));
  else {
    errs.push(...validatePodSpec(jt.template?.spec, "spec.jobTemplate.spec.template.spec", ["OnFailure", "Never"]));
    if (jt.template?.spec?.restartPolicy === undefined) errs.push(required("spec.jobTemplate.spec.template.spec.restartPolicy"));
  }
  return errs;
}

/** Five fields (or a @descriptor); each field of digits, *, ranges, steps, lists or names. */
function validCron(s: string): boolean {
  const t = s.trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every\s+\S+)$/.test(t)) return true;
  const fields = t.replace(/^(CRON_)?TZ=\S+\s+/, "").split(/\s+/);
  if (fields.length !== 5) return false;
  return fields.every((f) => /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?)*$/.test(f));
}
