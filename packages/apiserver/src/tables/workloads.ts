/** Rows for the workload kinds (apps/v1, batch/v1, ReplicationController), as upstream's printers. */
import type { KubeObject } from "../storage/index.js";
import { age, arr, containersAndImages, get, humanDuration, labelSelectorString, mapString, num, str } from "./format.js";
import { ageCol, col, nameCol, type Printer } from "./columns.js";

const containersCol = () => col("Containers", "Names of each container in the template.", 1);
const imagesCol = () => col("Images", "Images referenced by each container in the template.", 1);
const selectorCol = () => col("Selector", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1);
const template = (o: KubeObject) => get(o, "spec", "template", "spec");

export const deploymentPrinter: Printer = {
  columns: [
    nameCol(),
    col("Ready", "Number of the pod with ready state"),
    col("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0, "integer"),
    col("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0, "integer"),
    ageCol(),
    containersCol(),
    imagesCol(),
    selectorCol(),
  ],
  row: (o, ctx) => {
    const [c, i] = containersAndImages(template(o));
    return [
      o.metadata.name,
      `${num(get(o, "status", "readyReplicas"))}/${num(get(o, "spec", "replicas"), 1)}`,
      num(get(o, "status", "updatedReplicas")),
      num(get(o, "status", "availableReplicas")),
      age(o.metadata.creationTimestamp, ctx.now),
      c,
      i,
      labelSelectorString(get(o, "spec", "selector")),
    ];
  },
};

const replicaColumns = () => [
  nameCol(),
  col("Desired", "Replicas is the number of desired replicas.", 0, "integer"),
  col("Current", "Replicas is the most recently observed number of replicas.", 0, "integer"),
  col("Ready", "The number of ready replicas for this replica set.", 0, "integer"),
  ageCol(),
  containersCol(),
  imagesCol(),
  selectorCol(),
];

/** ReplicaSets and ReplicationControllers print alike; only their selector's shape differs. */
function replicaPrinter(selector: (o: KubeObject) => string): Printer {
  return {
    columns: replicaColumns(),
    row: (o, ctx) => {
      const [c, i] = containersAndImages(template(o));
      return [
        o.metadata.name,
        num(get(o, "spec", "replicas"), 1),
        num(get(o, "status", "replicas")),
        num(get(o, "status", "readyReplicas")),
        age(o.metadata.creationTimestamp, ctx.now),
        c,
        i,
        selector(o),
      ];
    },
  };
}

export const replicaSetPrinter = replicaPrinter((o) => labelSelectorString(get(o, "spec", "selector")));
export const replicationControllerPrinter = replicaPrinter((o) => mapString(get(o, "spec", "selector")));

export const statefulSetPrinter: Printer = {
  columns: [nameCol(), col("Ready", "Number of the pod with ready state"), ageCol(), containersCol(), imagesCol()],
  row: (o, ctx) => {
    const [c, i] = containersAndImages(template(o));
    return [
      o.metadata.name,
      `${num(get(o, "status", "readyReplicas"))}/${num(get(o, "spec", "replicas"), 1)}`,
      age(o.metadata.creationTimestamp, ctx.now),
      c,
      i,
    ];
  },
};

export const daemonSetPrinter: Printer = {
  columns: [
    nameCol(),
    col("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).", 0, "integer"),
    col("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.", 0, "integer"),
    col("Ready", "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.", 0, "integer"),
    col("Up-to-date", "The total number of nodes that are running updated daemon pod", 0, "integer"),
    col("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)", 0, "integer"),
    col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node."),
    ageCol(),
    containersCol(),
    imagesCol(),
    selectorCol(),
  ],
  row: (o, ctx) => {
    const [c, i] = containersAndImages(template(o));
    return [
      o.metadata.name,
      num(get(o, "status", "desiredNumberScheduled")),
      num(get(o, "status", "currentNumberScheduled")),
      num(get(o, "status", "numberReady")),
      num(get(o, "status", "updatedNumberScheduled")),
      num(get(o, "status", "numberAvailable")),
      mapString(get(o, "spec", "template", "spec", "nodeSelector")),
      age(o.metadata.creationTimestamp, ctx.now),
      c,
      i,
      labelSelectorString(get(o, "spec", "selector")),
    ];
  },
};

/** printJob's STATUS, in its order: Complete, Failed, Terminating, Suspended, the interim conditions, Running. */
function jobStatus(o: KubeObject): string {
  const conds = arr(get(o, "status", "conditions"));
  const has = (t: string) => conds.some((c) => c.type === t && c.status === "True");
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (o.metadata.deletionTimestamp) return "Terminating";
  if (has("Suspended")) return "Suspended";
  if (has("FailureTarget")) return "FailureTarget";
  if (has("SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

export const jobPrinter: Printer = {
  columns: [
    nameCol(),
    col("Status", "Status of the job."),
    col("Completions", "The desired number of successfully finished pods the job should be run with."),
    col("Duration", "Time required to complete the job."),
    ageCol(),
    containersCol(),
    imagesCol(),
    selectorCol(),
  ],
  row: (o, ctx) => {
    const [c, i] = containersAndImages(template(o));
    const completions = get(o, "spec", "completions");
    const succeeded = num(get(o, "status", "succeeded"));
    const parallelism = num(get(o, "spec", "parallelism"));
    // Without completions: "n/1", or "n/1 of p" when more than one pod runs at once.
    const completionsCell = typeof completions === "number" ? `${succeeded}/${completions}` : parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    const start = Date.parse(str(get(o, "status", "startTime")));
    const end = Date.parse(str(get(o, "status", "completionTime")));
    const duration = Number.isNaN(start) ? "" : humanDuration((Number.isNaN(end) ? ctx.now.getTime() : end) - start);
    return [
      o.metadata.name,
      jobStatus(o),
      completionsCell,
      duration,
      age(o.metadata.creationTimestamp, ctx.now),
      c,
      i,
      labelSelectorString(get(o, "spec", "selector")),
    ];
  },
};

export const cronJobPrinter: Printer = {
  columns: [
    nameCol(),
    col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    col("Timezone", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
    col("Suspend", "This flag tells the controller to suspend subsequent executions.", 0, "boolean"),
    col("Active", "A list of pointers to currently running jobs.", 0, "integer"),
    col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    ageCol(),
    containersCol(),
    imagesCol(),
    selectorCol(),
  ],
  row: (o, ctx) => {
    const [c, i] = containersAndImages(get(o, "spec", "jobTemplate", "spec", "template", "spec"));
    const last = get(o, "status", "lastScheduleTime");
    return [
      o.metadata.name,
      str(get(o, "spec", "schedule")),
      str(get(o, "spec", "timeZone")) || "<none>",
      get(o, "spec", "suspend") === true ? "True" : "False",
      arr(get(o, "status", "active")).length,
      typeof last === "string" ? age(last, ctx.now) : "<none>",
      age(o.metadata.creationTimestamp, ctx.now),
      c,
      i,
      labelSelectorString(get(o, "spec", "jobTemplate", "spec", "selector")),
    ];
  },
};

export const controllerRevisionPrinter: Printer = {
  columns: [
    nameCol(),
    col("Controller", "Controller of the object."),
    col("Revision", "Revision indicates the revision of the state represented by Data.", 0, "integer"),
    ageCol(),
  ],
  row: (o, ctx) => {
    const owner = arr(o.metadata.ownerReferences).find((r) => r.controller === true);
    const group = owner ? (String(owner.apiVersion).includes("/") ? String(owner.apiVersion).split("/")[0] : "") : "";
    const ctl = owner ? `${String(owner.kind).toLowerCase()}${group ? "." + group : ""}/${String(owner.name)}` : "<none>";
    return [o.metadata.name, ctl, num(o.revision), age(o.metadata.creationTimestamp, ctx.now)];
  },
};
