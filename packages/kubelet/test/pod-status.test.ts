import { describe, expect, it } from "vitest";
import type { Pod } from "kubernetes-types/core/v1.js";
import { computePodStatus, type ContainerRecord, type PodRuntimeView } from "../src/pod/status.js";
import { podQos } from "../src/pod/qos.js";
import { restoreView } from "../src/pod/restore.js";

const T0 = Date.parse("2024-05-01T10:00:00Z");

function pod(spec: Partial<NonNullable<Pod["spec"]>> = {}): Pod {
  return {
    metadata: { name: "web", namespace: "default", uid: "u1" },
    spec: { containers: [{ name: "web", image: "nginx" }], ...spec },
    status: { conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2024-05-01T09:59:59Z" }] },
  };
}

const rec = (over: Partial<ContainerRecord> = {}): ContainerRecord => ({ name: "web", image: "docker.io/library/nginx:latest", imageID: "", restartCount: 0, ready: false, started: false, ...over });
const view = (over: Partial<PodRuntimeView> = {}): PodRuntimeView => ({ sandboxReady: true, podIP: "127.246.1.2", hostIP: "127.1.70.1", startTime: T0, init: [], containers: [rec()], ...over });

/** The container's state in one word: what kubectl's STATUS column is made of. */
const stateOf = (s: ReturnType<typeof computePodStatus>, i = 0) => {
  const st = s.containerStatuses![i]!.state!;
  return st.waiting?.reason ?? st.terminated?.reason ?? (st.running ? "Running" : "?");
};

describe("computePodStatus", () => {
  it("a container being created waits as ContainerCreating; the pod is Pending", () => {
    const s = computePodStatus(pod(), view(), T0);
    expect(s.phase).toBe("Pending");
    expect(stateOf(s)).toBe("ContainerCreating");
    expect(s.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(["PodReadyToStartContainers=True", "Initialized=True", "Ready=False", "ContainersReady=False", "PodScheduled=True"]);
    expect(s.conditions!.find((c) => c.type === "Ready")!.message).toBe("containers with unready status: [web]");
    expect(s.podIP).toBe("127.246.1.2");
    expect(s.qosClass).toBe("BestEffort");
  });

  it("a running ready container makes the pod Running and Ready", () => {
    const s = computePodStatus(pod(), view({ containers: [rec({ current: { containerID: "kubemu://a", startedAt: T0 }, ready: true, started: true })] }), T0 + 1000);
    expect(s.phase).toBe("Running");
    expect(stateOf(s)).toBe("Running");
    expect(s.containerStatuses![0]!.ready).toBe(true);
    expect(s.conditions!.find((c) => c.type === "Ready")!.status).toBe("True");
  });

  it("restartPolicy Never: exit 1 is Error and the pod Failed; exit 0 is Completed and Succeeded", () => {
    const done = (exitCode: number) => rec({ current: { containerID: "kubemu://a", startedAt: T0, finishedAt: T0 + 10, exitCode, reason: exitCode === 0 ? "Completed" : "Error" } });
    const failed = computePodStatus(pod({ restartPolicy: "Never" }), view({ containers: [done(1)] }), T0 + 20);
    expect(failed.phase).toBe("Failed");
    expect(stateOf(failed)).toBe("Error");
    const ok = computePodStatus(pod({ restartPolicy: "Never" }), view({ containers: [done(0)] }), T0 + 20);
    expect(ok.phase).toBe("Succeeded");
    expect(stateOf(ok)).toBe("Completed");
    expect(ok.conditions!.find((c) => c.type === "Ready")!.reason).toBe("PodCompleted");
  });

  it("a crash-looping container waits with lastState terminated; the pod stays Running", () => {
    const r = rec({ restartCount: 3, current: { containerID: "kubemu://b", startedAt: T0, finishedAt: T0 + 5, exitCode: 3, reason: "Error" }, waiting: { reason: "CrashLoopBackOff", message: "back-off 8s restarting failed container=web pod=web_default(u1)" } });
    const s = computePodStatus(pod(), view({ containers: [r] }), T0 + 10);
    expect(s.phase).toBe("Running");
    expect(stateOf(s)).toBe("CrashLoopBackOff");
    expect(s.containerStatuses![0]!.lastState!.terminated!.exitCode).toBe(3);
    expect(s.containerStatuses![0]!.restartCount).toBe(3);
  });

  it("image pull failures are the waiting reason", () => {
    const s = computePodStatus(pod(), view({ containers: [rec({ waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "nope"' } })] }), T0);
    expect(stateOf(s)).toBe("ImagePullBackOff");
    expect(s.phase).toBe("Pending");
  });

  it("init containers: Init:0/1 while the first runs, app containers PodInitializing", () => {
    const p = pod({ initContainers: [{ name: "init", image: "busybox" }] });
    const s = computePodStatus(p, view({ init: [rec({ name: "init", current: { containerID: "kubemu://i", startedAt: T0 } })] }), T0);
    expect(s.phase).toBe("Pending");
    expect(s.initContainerStatuses![0]!.state!.running).toBeDefined();
    expect(stateOf(s)).toBe("PodInitializing");
    const init = s.conditions!.find((c) => c.type === "Initialized")!;
    expect([init.status, init.reason, init.message]).toEqual(["False", "ContainersNotInitialized", "containers with incomplete status: [init]"]);
  });

  it("a failed init container with restartPolicy Never fails the pod", () => {
    const p = pod({ restartPolicy: "Never", initContainers: [{ name: "init", image: "busybox" }] });
    const s = computePodStatus(p, view({ init: [rec({ name: "init", current: { containerID: "kubemu://i", startedAt: T0, finishedAt: T0 + 1, exitCode: 1, reason: "Error" } })] }), T0 + 2);
    expect(s.phase).toBe("Failed");
  });

  it("lastTransitionTime moves only when a condition flips", () => {
    const p = pod();
    const first = computePodStatus(p, view(), T0);
    const again = computePodStatus({ ...p, status: first }, view(), T0 + 5000);
    expect(again.conditions!.find((c) => c.type === "Ready")!.lastTransitionTime).toBe("2024-05-01T10:00:00Z");
    const ready = computePodStatus({ ...p, status: first }, view({ containers: [rec({ current: { containerID: "kubemu://a", startedAt: T0 }, ready: true, started: true })] }), T0 + 7000);
    expect(ready.conditions!.find((c) => c.type === "Ready")!.lastTransitionTime).toBe("2024-05-01T10:00:07Z");
  });
});

describe("podQos", () => {
  it("BestEffort, Burstable, Guaranteed as upstream", () => {
    expect(podQos(pod())).toBe("BestEffort");
    expect(podQos(pod({ containers: [{ name: "a", resources: { requests: { cpu: "100m" } } }] }))).toBe("Burstable");
    expect(podQos(pod({ containers: [{ name: "a", resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } } }] }))).toBe("Guaranteed");
    expect(podQos(pod({ containers: [{ name: "a", resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } } }] }))).toBe("Burstable");
  });
});

describe("restoreView (a restarted kubelet)", () => {
  it("a container that was running counts as exited Unknown 255 and restarts with restartCount + 1", () => {
    const p: Pod = { ...pod(), status: {
      phase: "Running",
      startTime: "2024-05-01T10:00:00Z",
      podIP: "127.246.1.9",
      containerStatuses: [{ name: "web", image: "nginx", imageID: "x", ready: true, restartCount: 2, containerID: "kubemu://c3", state: { running: { startedAt: "2024-05-01T10:00:05Z" } }, lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: "2024-05-01T10:00:01Z", finishedAt: "2024-05-01T10:00:04Z", containerID: "kubemu://c2" } } }],
    } };
    const v = view({ podIP: undefined, startTime: undefined, containers: [rec()] });
    expect(restoreView(p, v, T0 + 60_000)).toBe(false);
    expect(v.podIP).toBe("127.246.1.9");
    expect(v.containers[0]!.current).toMatchObject({ exitCode: 255, reason: "Unknown", finishedAt: T0 + 60_000 });
    expect(v.containers[0]!.previous).toMatchObject({ exitCode: 1, containerID: "kubemu://c2" });
    const s = computePodStatus(p, { ...v, containers: [{ ...v.containers[0]!, waiting: { reason: "CrashLoopBackOff" } }] }, T0 + 60_000);
    expect(s.containerStatuses![0]!.lastState!.terminated!.reason).toBe("Unknown");
    expect(s.containerStatuses![0]!.restartCount).toBe(2);
  });
  it("a terminal pod stays terminal", () => {
    const p: Pod = { ...pod({ restartPolicy: "Never" }), status: { phase: "Succeeded", startTime: "2024-05-01T10:00:00Z", containerStatuses: [{ name: "web", image: "nginx", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed" } } }] } };
    const v = view();
    expect(restoreView(p, v, T0)).toBe(true);
    expect(v.terminal).toBe("Succeeded");
  });
});
