/**
 * DaemonSet spec.templateGeneration, which apps/v1 carries in the
 * `deprecated.daemonset.template.generation` annotation (upstream's DaemonSet strategy and v1
 * conversion): 1 on create, one more on each update that changes the pod template, and never
 * set by clients on update. The DaemonSet controller labels its pods `pod-template-generation`
 * with it.
 */
import type { KubeObject } from "../storage/index.js";
import type { Admission } from "../registry/types.js";
import { deepEqual } from "../rest/meta.js";

export const TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation";

function generationOf(o: KubeObject | undefined): number {
  const v = o?.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : 0;
}

const templateOf = (o: KubeObject | undefined) => (o?.spec as { template?: unknown } | undefined)?.template;

export function admitDaemonSetTemplateGeneration(a: Admission): void {
  const ds = a.object;
  if (!ds || a.operation === "DELETE") return;
  let generation: number;
  if (a.operation === "CREATE") generation = Math.max(generationOf(ds), 1);
  else generation = Math.max(generationOf(a.old), 1) + (deepEqual(templateOf(ds), templateOf(a.old)) ? 0 : 1);
  ds.metadata.annotations = { ...(ds.metadata.annotations ?? {}), [TEMPLATE_GENERATION_ANNOTATION]: String(generation) };
}
