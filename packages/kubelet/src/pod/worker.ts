/**
 * A pod worker (upstream's podWorkers: one goroutine per pod): every change to the pod, every
 * container exit, probe flip, backoff expiry and resync wakes it, and it runs one sync at a
 * time — set up the sandbox (IP, /etc/hosts, /etc/resolv.conf) and volumes, run init containers
 * one after another (sidecars stay up), start or restart the app containers under the pod's
 * restartPolicy with CrashLoopBackOff, and post the status. A deleted pod is terminated: its
 * containers get their stop signal, SIGKILL after the grace period, the final status is posted
 * and only then is the pod deleted for good (grace 0, UID precondition).
 */
import { readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Container, Pod, Probe } from "kubernetes-types/core/v1.js";
import type { Clock, EventRecorder, KubeObject, Logger, Rng } from "@kubemu/common";
import { containerArgv, type ImageCatalog } from "@kubemu/images";
import type { ContainerLimits } from "../runtime/cgroup-config.js";
import type { ContainerCgroup, NodeCgroups } from "../runtime/cgroups.js";
import { ContainerProcess, type ExitInfo, type SandboxKind } from "../runtime/container.js";
import type { ContainerIO } from "../runtime/container-io.js";
import { resolveProcess, StartError } from "../runtime/executables.js";
import { tailOfLog } from "../runtime/cri-log.js";
import { BUSYBOX_DIR, containerLimits, containerMounts, processEnv } from "./launch.js";
import type { ImageManager } from "../runtime/image-manager.js";
import type { HostFs, Mount } from "../runtime/sandbox.js";
import type { ProcessTreeUsage } from "../runtime/usage.js";
import { ProbeWorker, initialResult, type ProbeKind } from "../probes/probe-worker.js";
import { probeExec, probeHttp, probeTcp } from "../probes/probe.js";
import { runHook, type HookContext } from "../probes/hooks.js";
import { probeGrpc } from "../probes/grpc.js";
import { formatGoDuration } from "../util/go-duration.js";
import { PodVolumes, type VolumeSources } from "../volumes/pod-volumes.js";
import type { Backoff } from "./backoff.js";
import { ConfigError } from "./downward.js";
import { hostsFile, podHostname, resolvConf, type DnsSettings } from "./dns.js";
import { containerEnv, expandCommand, type EnvSources } from "./env.js";
import type { Ipam } from "./ipam.js";
import { podReferences, type SourceKind } from "./references.js";
import { podQos } from "./qos.js";
import { restoreView } from "./restore.js";
import { StatusWriter } from "./status-writer.js";
import { computePodStatus, isSidecar, podPhase, shouldRestart, type ContainerRecord, type Instance, type PodRuntimeView } from "./status.js";

export interface PodWorkerDeps {
  nodeName: string;
  nodeIP: string;
  /** <root>/kubelet/pods: per-pod volumes and files. */
  podsDir: string;
  /** <root>/pods: CRI logs, <ns>_<name>_<uid>/<container>/<restart>.log. */
  logsDir: string;
  nodeRoot: string;
  hidden: string[];
  clock: Clock;
  rng: Rng;
  log: Logger;
  recorder: EventRecorder;
  sandbox: SandboxKind;
  /** The node's cgroups; undefined where they cannot be used (memory limits are then a watchdog). */
  cgroups: NodeCgroups | undefined;
  fs: HostFs;
  nodeBin: string;
  busyboxDir: string | undefined;
  images: ImageManager;
  catalog: () => ImageCatalog;
  crashBackoff: Backoff;
  ipam: Ipam;
  envSources: Omit<EnvSources, "podIP" | "hostIP">;
  volumeSources: Omit<VolumeSources, "podIP" | "hostIP">;
  dns: DnsSettings;
  syncFrequencyMs: number;
  /** Posts the status now (resolves when written or given up). */
  postStatus: (pod: Pod, status: NonNullable<Pod["status"]>) => Promise<void>;
  /** The final delete of a terminated pod (grace 0, UID precondition). */
  finalDelete: (pod: Pod) => Promise<void>;
  /** Called once the worker is finished with the pod. */
  onDone: (uid: string) => void;
}

interface Running {
  proc: ContainerProcess;
  instance: Instance;
  probes: ProbeWorker[];
  /** Set when the kubelet itself stops it (liveness, deletion): the exit is expected. */
  stopping?: Promise<ExitInfo>;
  env: Record<string, string>;
  termFile: string;
  logPath: string;
  spec: Container;
}

function hexId(rng: Rng): string {
  let s = "";
  for (let i = 0; i < 64; i++) s += "0123456789abcdef"[rng.int(16)];
  return s;
}

const podRef = (pod: Pod) => pod as unknown as KubeObject;

export class PodWorker {
  private pod: Pod;
  private readonly uid: string;
  private readonly view: PodRuntimeView;
  private readonly running = new Map<string, Running>();
  private volumes: PodVolumes;
  private wakeResolve: (() => void) | undefined;
  private woken = false;
  private removed = false;
  private finished = false;
  private timers = new Set<NodeJS.Timeout>();
  private lastPosted = "";
  private volumeFailures = 0;
  private nextVolumeAttempt = 0;
  private readonly loop: Promise<void>;
  /** Containers stopped because their definition changed: they start again whatever the policy. */
  private readonly replaced = new Set<string>();
  private readonly statusWriter: StatusWriter<{ pod: Pod; status: NonNullable<Pod["status"]> }>;

  constructor(
    pod: Pod,
    private readonly d: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.uid = pod.metadata!.uid!;
    const specs = pod.spec?.containers ?? [];
    const inits = pod.spec?.initContainers ?? [];
    const blank = (c: Container): ContainerRecord => ({ name: c.name, image: c.image ?? "", imageID: "", restartCount: 0, ready: false, started: false });
    this.view = { sandboxReady: false, podIP: undefined, hostIP: d.nodeIP, startTime: undefined, init: inits.map(blank), containers: specs.map(blank) };
    // Its status is final already: nothing to write until it is deleted.
    if (restoreView(pod, this.view, d.clock.now())) this.lastPosted = "restored";
    this.volumes = new PodVolumes(pod, d.podsDir, d.nodeRoot, { ...d.volumeSources, podIP: () => this.view.podIP ?? "", hostIP: d.nodeIP }, () => d.clock.now());
    this.statusWriter = new StatusWriter(
      (s) => d.postStatus(s.pod, s.status),
      (e) => d.log.error({ pod: this.key, err: String(e) }, "status write failed"),
    );
    this.loop = this.run();
  }

  update(pod: Pod): void {
    this.pod = pod;
    this.wake();
  }

  /** A configMap, secret or claim changed: a pod that uses it tries its mounts and config again now. */
  sourceChanged(kind: SourceKind, namespace: string, name: string): void {
    if (this.pod.metadata?.namespace !== namespace || !podReferences(this.pod, kind, name)) return;
    this.nextVolumeAttempt = 0;
    this.wake();
  }

  /** The pod is gone from the API (deleted for good, or force-deleted). */
  remove(): void {
    this.removed = true;
    this.wake();
  }

  /** Stops every container at once (kubelet shutdown). */
  async shutdown(graceMs: number): Promise<void> {
    this.finished = true;
    this.wake();
    await Promise.all([...this.running.values()].map((r) => this.stopContainer(r, graceMs, false)));
    for (const t of this.timers) clearTimeout(t);
  }

  /** The containers running now, with their host pids and usage (their cgroup's, else their process tree's). */
  runningContainers(): { namespace: string; pod: string; container: string; pid: number | undefined; startedAt: number; logPath: string; usage: () => ProcessTreeUsage | undefined }[] {
    return [...this.running.entries()].map(([name, r]) => ({
      namespace: this.pod.metadata?.namespace ?? "",
      pod: this.pod.metadata?.name ?? "",
      container: name,
      pid: r.proc.pid,
      startedAt: r.instance.startedAt,
      logPath: r.logPath,
      usage: () => r.proc.usage(),
    }));
  }

  /** Where `kubectl exec` runs in a running container: its namespaces' pid (in a sandbox) and env. */
  execTarget(container: string): { pid: number | undefined; env: Record<string, string> } | undefined {
    const r = this.running.get(container);
    if (!r || r.proc.pid === undefined) return undefined;
    return { pid: this.d.sandbox.kind === "bwrap" ? r.proc.pid : undefined, env: r.env };
  }

  /** What `kubectl attach` joins in a running container: its stdio. */
  attachTarget(container: string): ContainerIO | undefined {
    const r = this.running.get(container);
    if (!r || r.proc.pid === undefined) return undefined;
    return r.proc.io;
  }

  /** Where `kubectl port-forward` connects: the pod's IP while its sandbox is up. */
  podAddress(): string | undefined {
    return this.view.sandboxReady ? this.view.podIP : undefined;
  }

  done(): Promise<void> {
    return this.loop;
  }

  private wake(): void {
    this.woken = true;
    this.wakeResolve?.();
  }

  private wakeAt(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.wake();
    }, Math.max(0, ms - this.d.clock.now()));
    this.timers.add(t);
  }

  private async run(): Promise<void> {
    const resync = setInterval(() => this.wake(), this.d.syncFrequencyMs);
    try {
      while (!this.finished) {
        if (!this.woken) await new Promise<void>((r) => (this.wakeResolve = r));
        this.wakeResolve = undefined;
        this.woken = false;
        if (this.finished) break;
        try {
          if (this.removed || this.pod.metadata?.deletionTimestamp) {
            await this.terminate();
            break;
          }
          await this.sync();
        } catch (e) {
          this.d.log.error({ pod: this.key, err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "pod sync failed; will retry");
          this.wakeAt(this.d.clock.now() + 1000);
        }
      }
    } finally {
      clearInterval(resync);
      for (const t of this.timers) clearTimeout(t);
      this.d.onDone(this.uid);
    }
  }

  get key(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  private event(type: "Normal" | "Warning", reason: string, message: string, container?: string): void {
    const fieldPath = container === undefined ? undefined : this.fieldPath(container);
    this.d.recorder.event(podRef(this.pod), type, reason, message, fieldPath);
  }

  private fieldPath(name: string): string {
    const i = (this.pod.spec?.initContainers ?? []).findIndex((c) => c.name === name);
    if (i !== -1) return `spec.initContainers{${name}}`;
    return `spec.containers{${name}}`;
  }

  private get formatPod(): string {
    return `${this.pod.metadata?.name}_${this.pod.metadata?.namespace}(${this.uid})`;
  }

  /**
   * Hands the pod's current status to its writer and returns at once (the worker never waits for
   * the API); the promise resolves once it (or a newer one) is written, for the few places that
   * must know (the final status before the delete).
   */
  private postStatus(): Promise<void> {
    const status = computePodStatus(this.pod, this.view, this.d.clock.now());
    const text = JSON.stringify(status);
    if (text === this.lastPosted) return this.statusWriter.flush();
    this.lastPosted = text;
    return this.statusWriter.set({ pod: this.pod, status });
  }

  // --- sync -----------------------------------------------------------------------------

  private async sync(): Promise<void> {
    const pod = this.pod;
    if (this.view.terminal) {
      if (this.lastPosted !== "restored") void this.postStatus();
      return;
    }
    const now = this.d.clock.now();
    if (this.view.startTime === undefined) this.view.startTime = now;
    if (!this.view.sandboxReady) {
      // As upstream, the pod's first status (Pending, ContainerCreating, startTime) is written before its sandbox exists.
      void this.postStatus();
      await this.setUpSandbox();
    }
    const deadline = pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined && now >= this.view.startTime + deadline * 1000) {
      this.event("Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline");
      await this.stopAll((pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
      this.view.terminal = "Failed";
      this.view.reason = "DeadlineExceeded";
      this.view.message = "Pod was active on the node longer than the specified deadline";
      void this.postStatus();
      return;
    }
    if (deadline !== undefined) this.wakeAt(this.view.startTime + deadline * 1000);

    if (!(await this.setUpVolumes())) {
      void this.postStatus();
      return;
    }
    // The sandbox is up (pod IP, PodReadyToStartContainers) while images are pulled.
    void this.postStatus();
    const initOk = await this.syncInit();
    if (initOk) await this.syncContainers();
    const phase = podPhase(pod, this.view);
    if (phase === "Succeeded" || phase === "Failed") {
      // Sidecars stop once the app containers are done; the pod's containers are not restarted again.
      await this.stopAll((pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
      this.view.terminal = podPhase(pod, this.view) === "Succeeded" ? "Succeeded" : phase;
      this.view.sandboxReady = false;
    }
    void this.postStatus();
  }

  /** The pod IP and the sandbox's /etc/hosts and /etc/resolv.conf (written off the event loop, as the volumes are). */
  private async setUpSandbox(): Promise<void> {
    const pod = this.pod;
    this.view.podIP = pod.spec?.hostNetwork ? this.d.nodeIP : this.d.ipam.allocate(this.uid, this.view.podIP ?? pod.status?.podIP);
    const dir = join(this.d.podsDir, this.uid);
    await mkdir(dir, { recursive: true });
    await Promise.all([writeFile(join(dir, "etc-hosts"), hostsFile(pod, this.view.podIP, this.d.dns.clusterDomain)), writeFile(join(dir, "resolv.conf"), resolvConf(pod, this.d.dns))]);
    this.view.sandboxReady = true;
  }

  private async setUpVolumes(): Promise<boolean> {
    const now = this.d.clock.now();
    if (now < this.nextVolumeAttempt) return false;
    try {
      await this.volumes.setUp(this.pod);
      this.volumeFailures = 0;
      return true;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.event("Warning", "FailedMount", msg);
      // Upstream's exponential backoff for mount operations: 500 ms doubling, capped at 2 min 2 s.
      const delay = Math.min(500 * 2 ** this.volumeFailures, 122_000);
      this.volumeFailures++;
      this.nextVolumeAttempt = now + delay;
      this.wakeAt(this.nextVolumeAttempt);
      return false;
    }
  }

  /** Runs init containers in order; true once all are done (sidecars started). */
  private async syncInit(): Promise<boolean> {
    const specs = this.pod.spec?.initContainers ?? [];
    const policy = this.pod.spec?.restartPolicy ?? "Always";
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const rec = this.view.init[i]!;
      const cur = rec.current;
      if (isSidecar(spec)) {
        if (cur && cur.finishedAt === undefined) {
          if (!rec.started) return false;
          continue;
        }
        if (cur && !(await this.restartAllowed(rec, cur))) return false;
        if (!(await this.startContainer(spec, rec))) return false;
        if (!rec.started) return false;
        continue;
      }
      if (cur && cur.finishedAt === undefined) return false;
      if (cur && cur.exitCode === 0) continue;
      if (cur) {
        if (policy === "Never") return false;
        if (!(await this.restartAllowed(rec, cur))) return false;
      }
      await this.startContainer(spec, rec);
      return false;
    }
    return true;
  }

  private async syncContainers(): Promise<void> {
    const specs = this.pod.spec?.containers ?? [];
    const policy = this.pod.spec?.restartPolicy;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const rec = this.view.containers[i]!;
      const cur = rec.current;
      const r = this.running.get(spec.name);
      if (cur && cur.finishedAt === undefined) {
        // An edited image (kubectl set image on a pod) replaces the container, as upstream's hash check does.
        if (r && !r.stopping && r.spec.image !== spec.image) {
          this.event("Normal", "Killing", `Container ${spec.name} definition changed, will be restarted`, spec.name);
          this.replaced.add(spec.name);
          void this.stopContainer(r, (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
        }
        continue;
      }
      if (cur) {
        if (!shouldRestart(policy, cur.exitCode ?? 0) && !(r === undefined && this.replaced.has(spec.name))) continue;
        if (!(await this.restartAllowed(rec, cur))) continue;
      }
      if (await this.startContainer(spec, rec)) this.replaced.delete(spec.name);
    }
  }

  /** CrashLoopBackOff: whether an exited container may start again now (else it waits, with the event). */
  private async restartAllowed(rec: ContainerRecord, cur: Instance): Promise<boolean> {
    const key = `${this.pod.metadata?.name}_${this.pod.metadata?.namespace}_${this.uid}_${rec.name}`;
    const finished = cur.finishedAt ?? this.d.clock.now();
    const now = this.d.clock.now();
    const b = this.d.crashBackoff;
    if (b.isInBackOffSince(key, finished, now)) {
      rec.waiting = { reason: "CrashLoopBackOff", message: `back-off ${formatGoDuration(b.get(key))} restarting failed container=${rec.name} pod=${this.formatPod}` };
      this.event("Warning", "BackOff", `Back-off restarting failed container ${rec.name} in pod ${this.formatPod}`, rec.name);
      this.wakeAt(b.readyAt(key, finished) + 5);
      return false;
    }
    b.next(key, finished);
    return true;
  }

  private eventSink(name: string) {
    return (type: "Normal" | "Warning", reason: string, message: string) => this.event(type, reason, message, name);
  }

  /** Pulls, configures and starts one container; false when it could not start (the record says why). */
  private async startContainer(spec: Container, rec: ContainerRecord): Promise<boolean> {
    const pull = await this.d.images.ensure(this.uid, spec, this.eventSink(spec.name));
    if (this.removed || this.pod.metadata?.deletionTimestamp || this.finished) return false;
    if (!pull.ok) {
      rec.waiting = { reason: pull.reason, message: pull.message };
      this.event("Warning", "Failed", `Error: ${pull.reason}`, spec.name);
      if (pull.reason === "ImagePullBackOff" || pull.reason === "ErrImagePull") {
        // Retry once the pull backoff has passed.
        this.wakeAt(this.d.clock.now() + Math.max(this.d.images.retryAfterMs(this.uid, spec.image ?? ""), 1000) + 5);
      }
      return false;
    }
    rec.image = pull.image.name;
    rec.imageID = pull.image.imageID;
    let env: [string, string][];
    try {
      const result = containerEnv(this.pod, spec, { ...this.d.envSources, podIP: this.view.podIP ?? "", hostIP: this.d.nodeIP });
      for (const w of result.warnings) this.event("Warning", w.reason, w.message);
      env = result.env;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      rec.waiting = { reason: "CreateContainerConfigError", message: e.message };
      this.event("Warning", "Failed", `Error: ${e.message}`, spec.name);
      this.wakeAt(this.d.clock.now() + 2000);
      return false;
    }
    let mounts: Mount[];
    try {
      mounts = containerMounts(spec, (v) => this.volumes.hostPathOf(v), env);
    } catch (e) {
      rec.waiting = { reason: "CreateContainerConfigError", message: (e as Error).message };
      this.event("Warning", "Failed", `Error: ${(e as Error).message}`, spec.name);
      return false;
    }
    const restartCount = rec.current ? rec.restartCount + 1 : rec.restartCount;
    const containerID = hexId(this.d.rng);
    const termDir = join(this.d.podsDir, this.uid, "containers", spec.name);
    await mkdir(termDir, { recursive: true });
    const termFile = join(termDir, containerID.slice(0, 8));
    await writeFile(termFile, "");
    if (this.removed || this.pod.metadata?.deletionTimestamp || this.finished) return false;
    mounts.push({ hostPath: termFile, containerPath: spec.terminationMessagePath ?? "/dev/termination-log", readOnly: false });
    const busybox = this.d.busyboxDir !== undefined && pull.image.entry.busybox === true;
    const penv = processEnv(pull.image, env, podHostname(this.pod), busybox);
    if (busybox) mounts.push({ hostPath: this.d.busyboxDir!, containerPath: BUSYBOX_DIR, readOnly: true });
    const argv = containerArgv(pull.image.entry, expandCommand(spec.command, env), expandCommand(spec.args, env));
    const cwd = spec.workingDir || pull.image.entry.workingDir || "/";
    const previous = rec.current;
    const rotate = (inst: Instance) => {
      if (previous) {
        rec.previous = previous;
        rec.restartCount = restartCount;
      }
      rec.current = inst;
      rec.ready = false;
      rec.started = false;
    };
    let resolved;
    try {
      resolved = resolveProcess(pull.image.entry, argv, penv, mounts, this.d.nodeBin, this.view.podIP ?? "", cwd);
    } catch (e) {
      if (!(e instanceof StartError)) throw e;
      const now = this.d.clock.now();
      this.event("Normal", "Created", `Created container: ${spec.name}`, spec.name);
      this.event("Warning", "Failed", `Error: ${e.message}`, spec.name);
      rotate({ containerID: `kubemu://${containerID}`, startedAt: 0, finishedAt: now, exitCode: 128, reason: "StartError", message: e.message });
      rec.waiting = { reason: "RunContainerError", message: e.message };
      this.wake();
      return false;
    }
    if (resolved.catalogProgram && penv.POD_IP === undefined) penv.POD_IP = this.view.podIP ?? "";
    const limits = containerLimits(spec);
    const cgroup = this.containerCgroup(spec.name, containerID, limits);
    const logPath = join(this.d.logsDir, `${this.pod.metadata?.namespace}_${this.pod.metadata?.name}_${this.uid}`, spec.name, `${restartCount}.log`);
    const dir = join(this.d.podsDir, this.uid);
    this.event("Normal", "Created", `Created container: ${spec.name}`, spec.name);
    const proc = new ContainerProcess(
      {
        containerID,
        argv: resolved.argv,
        env: penv,
        cwd,
        hostname: podHostname(this.pod),
        mounts,
        etcHosts: join(dir, "etc-hosts"),
        resolvConf: join(dir, "resolv.conf"),
        hidden: this.d.hidden,
        logPath,
        ...(limits.memoryLimitBytes !== undefined ? { memoryLimitBytes: limits.memoryLimitBytes } : {}),
        ...(cgroup ? { cgroup } : {}),
        stopSignal: pull.image.entry.stopSignal ?? "SIGTERM",
        stdio: { stdin: spec.stdin === true, stdinOnce: spec.stdinOnce === true, tty: spec.tty === true },
      },
      this.d.sandbox,
      this.d.fs,
      this.d.log,
      () => this.d.clock.now(),
    );
    await proc.started();
    const inst: Instance = { containerID: `kubemu://${containerID}`, startedAt: this.d.clock.now() };
    rotate(inst);
    rec.waiting = undefined;
    const entry: Running = { proc, instance: inst, probes: [], env: penv, termFile, logPath, spec };
    this.running.set(spec.name, entry);
    this.event("Normal", "Started", `Started container ${spec.name}`, spec.name);
    void proc.exited.then((exit) => this.onExit(spec, rec, entry, exit));
    const postStart = spec.lifecycle?.postStart;
    if (postStart) {
      const failure = await runHook(postStart, this.hookContext(entry, 120_000, proc.exited));
      if (failure && this.running.get(spec.name) === entry) {
        this.event("Warning", "FailedPostStartHook", failure, spec.name);
        void this.stopContainer(entry, (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000, false);
        return false;
      }
    }
    this.startProbes(spec, rec, entry);
    return true;
  }

  /** The container's cgroup with its limits, made before it starts; undefined without cgroups (or when the kernel refused, which is logged). */
  private containerCgroup(name: string, containerID: string, limits: ContainerLimits): ContainerCgroup | undefined {
    if (!this.d.cgroups) return undefined;
    try {
      return this.d.cgroups.container(this.uid, podQos(this.pod), containerID, limits);
    } catch (e) {
      this.d.log.warn({ pod: this.key, container: name, err: String(e) }, "cannot make the container's cgroup: it runs without one (memory limit watchdog, no CPU limit)");
      return undefined;
    }
  }

  private startProbes(spec: Container, rec: ContainerRecord, r: Running): void {
    const add = (kind: ProbeKind, probe: Probe | undefined) => {
      if (!probe) return undefined;
      const worker = new ProbeWorker({
        kind,
        probe,
        clock: this.d.clock,
        startedAt: r.instance.startedAt,
        attempt: (timeoutMs) => {
          const ip = this.view.podIP ?? "";
          if (probe.httpGet) return probeHttp(probe.httpGet, ip, spec, timeoutMs);
          if (probe.tcpSocket) return probeTcp(probe.tcpSocket, ip, spec, timeoutMs);
          if (probe.exec) return probeExec(probe.exec.command ?? [], this.d.sandbox.kind === "bwrap" ? r.proc.pid : undefined, r.env, timeoutMs);
          if (probe.grpc) return probeGrpc(ip, probe.grpc.port, probe.grpc.service ?? "", timeoutMs);
          return Promise.resolve({ result: "error" as const, output: "the probe names no handler (exec, httpGet, tcpSocket or grpc)" });
        },
        ...(kind !== "startup" && spec.startupProbe ? { gate: () => rec.started } : {}),
        onResult: (ok) => this.onProbe(spec, rec, r, kind, ok),
        onEvent: (type, reason, message) => this.event(type, reason, message, spec.name),
      });
      r.probes.push(worker);
      void worker.run();
      return worker;
    };
    rec.ready = !spec.readinessProbe ? true : initialResult("readiness");
    rec.started = !spec.startupProbe;
    add("startup", spec.startupProbe);
    add("liveness", spec.livenessProbe);
    add("readiness", spec.readinessProbe);
    this.wake();
  }

  private onProbe(spec: Container, rec: ContainerRecord, r: Running, kind: ProbeKind, ok: boolean): void {
    if (this.running.get(spec.name) !== r) return;
    if (kind === "readiness") rec.ready = ok;
    else if (kind === "startup" && ok) rec.started = true;
    else if (!ok) {
      this.event("Normal", "Killing", `Container ${spec.name} failed ${kind} probe, will be restarted`, spec.name);
      const grace = (spec[kind === "liveness" ? "livenessProbe" : "startupProbe"]?.terminationGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      void this.stopContainer(r, grace);
    }
    this.wake();
  }

  private onExit(spec: Container, rec: ContainerRecord, r: Running, exit: ExitInfo): void {
    for (const p of r.probes) p.stop();
    r.instance.finishedAt = exit.finishedAt;
    r.instance.exitCode = exit.exitCode;
    r.instance.reason = exit.reason;
    let message = "";
    try {
      message = readFileSync(r.termFile, "utf8").slice(0, 4096);
    } catch {
      message = "";
    }
    if (!message && spec.terminationMessagePolicy === "FallbackToLogsOnError" && exit.exitCode !== 0) message = tailOfLog(r.logPath, 80, 2048);
    if (message) r.instance.message = message;
    rmSync(r.termFile, { force: true });
    if (this.running.get(spec.name) === r) this.running.delete(spec.name);
    rec.ready = false;
    rec.started = false;
    this.d.log.info({ pod: this.key, container: spec.name, exitCode: exit.exitCode, reason: exit.reason }, "container exited");
    this.wake();
  }

  private hookContext(r: Running, timeoutMs: number, exited: Promise<unknown>): HookContext {
    return {
      container: r.spec,
      podLabel: this.formatPod,
      podIP: this.view.podIP ?? "",
      pid: this.d.sandbox.kind === "bwrap" ? r.proc.pid : undefined,
      env: r.env,
      timeoutMs,
      sleep: (ms) => Promise.race([this.d.clock.sleep(ms), exited.then(() => undefined)]),
    };
  }

  /** Stops a container: its preStop hook (within the grace period), the stop signal, SIGKILL when the grace is over. */
  private stopContainer(r: Running, graceMs: number, preStop = true): Promise<ExitInfo> {
    if (!r.stopping) {
      for (const p of r.probes) p.stop();
      r.stopping = (async () => {
        let remaining = graceMs;
        const hook = r.spec.lifecycle?.preStop;
        if (preStop && hook && graceMs > 0) {
          const start = this.d.clock.now();
          const failure = await runHook(hook, this.hookContext(r, graceMs, r.proc.exited));
          if (failure) this.event("Warning", "FailedPreStopHook", failure, r.spec.name);
          // Upstream leaves at least 2 s for the stop signal after the hook.
          remaining = Math.max(graceMs - (this.d.clock.now() - start), 2000);
        }
        return r.proc.stop(remaining);
      })();
    }
    return r.stopping;
  }

  private async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => this.stopContainer(r, graceMs)));
    // Let the exit handlers record the exits.
    await new Promise((r) => setImmediate(r));
  }

  // --- termination ----------------------------------------------------------------------

  private async terminate(): Promise<void> {
    const pod = this.pod;
    const graceS = this.removed && !pod.metadata?.deletionTimestamp ? 1 : (pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    const graceMs = Math.max(graceS, 0) * 1000;
    const deadline = this.d.clock.now() + graceMs;
    // App containers first, all at once; then sidecars one by one in reverse order, within what is left of the grace period.
    const sidecars = (pod.spec?.initContainers ?? []).filter(isSidecar).map((c) => c.name);
    const stop = (name: string, r: Running, ms: number) => {
      this.event("Normal", "Killing", `Stopping container ${name}`, name);
      return this.stopContainer(r, ms);
    };
    await Promise.all([...this.running].filter(([name]) => !sidecars.includes(name)).map(([name, r]) => stop(name, r, graceMs)));
    for (const name of [...sidecars].reverse()) {
      const r = this.running.get(name);
      if (r) await stop(name, r, Math.max(deadline - this.d.clock.now(), 2000));
    }
    await new Promise((r) => setImmediate(r));
    this.view.sandboxReady = false;
    if (!this.view.terminal) {
      // Upstream moves a pod it terminated to a terminal phase before the final delete.
      const anyFailed = [...this.view.containers, ...this.view.init].some((c) => c.current && (c.current.exitCode ?? 0) !== 0);
      this.view.terminal = anyFailed ? "Failed" : "Succeeded";
    }
    if (!this.removed) {
      try {
        await this.postStatus();
      } catch (e) {
        this.d.log.warn({ pod: this.key, err: String(e) }, "final status not written");
      }
      await this.d.finalDelete(pod);
    }
    this.volumes.tearDown();
    this.d.cgroups?.removePod(this.uid, podQos(pod));
    this.d.ipam.release(this.uid);
    rmSync(join(this.d.logsDir, `${pod.metadata?.namespace}_${pod.metadata?.name}_${this.uid}`), { recursive: true, force: true });
    this.finished = true;
  }
}
