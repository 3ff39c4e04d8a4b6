/** DaemonSet template generation (deprecated.daemonset.template.generation), as upstream's strategy keeps it. */
import { describe, expect, it } from "vitest";
import { newStore } from "./helpers.js";

const ds = (image: string) => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: "ssd-monitor", namespace: "default" },
  spec: {
    selector: { matchLabels: { app: "ssd-monitor" } },
    template: { metadata: { labels: { app: "ssd-monitor" } }, spec: { nodeSelector: { disk: "ssd" }, containers: [{ name: "main", image }] } },
  },
});

const gen = (o: unknown) => (o as { metadata: { annotations?: Record<string, string>; generation?: number } }).metadata;

describe("DaemonSet template generation", () => {
  it("is 1 on create and grows with each template change only; clients cannot set it on update; status writes keep it", async () => {
    const { store, def } = await newStore();
    const d = def("apps", "daemonsets");
    const created = await store.create(d, "default", ds("luksa/ssd-monitor"), { fieldManager: "kubectl-create" });
    expect(gen(created).annotations?.["deprecated.daemonset.template.generation"]).toBe("1");

    const { object: other } = await store.patch(d, "default", "ssd-monitor", "merge", { spec: { minReadySeconds: 5 } });
    expect(gen(other).annotations?.["deprecated.daemonset.template.generation"]).toBe("1");
    expect(gen(other).generation).toBe(2);

    const { object: newImage } = await store.patch(d, "default", "ssd-monitor", "merge", { spec: { template: { spec: { containers: [{ name: "main", image: "luksa/ssd-monitor:v2" }] } } } });
    expect(gen(newImage).annotations?.["deprecated.daemonset.template.generation"]).toBe("2");
    expect(gen(newImage).generation).toBe(3);

    const { object: forged } = await store.patch(d, "default", "ssd-monitor", "merge", { metadata: { annotations: { "deprecated.daemonset.template.generation": "40" } } });
    expect(gen(forged).annotations?.["deprecated.daemonset.template.generation"]).toBe("2");

    const status = await store.update(d, "default", "ssd-monitor", { ...(await store.get(d, "default", "ssd-monitor")), status: { desiredNumberScheduled: 1, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 } }, { subresource: "status" });
    expect(gen(status).annotations?.["deprecated.daemonset.template.generation"]).toBe("2");
  });
});
