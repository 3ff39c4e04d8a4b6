/**
 * The kubelet's flags: the common component flags plus the node's identity (upstream's
 * --node-ip, --node-labels, --pod-cidr, --max-pods, --cluster-dns, --cluster-domain,
 * --root-dir, --sync-frequency, --node-status-update-frequency, --node-status-report-frequency)
 * and kubemu's own: the capacity the node reports (--capacity-cpu, --capacity-memory,
 * --capacity-ephemeral-storage; a real kubelet measures its machine) and the sandbox choice.
 */
import { readFileSync } from "node:fs";
import { availableParallelism, homedir, totalmem } from "node:os";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { FlagError, TIMING_PROFILES, componentCommand, composeNetwork, parseComponentFlags, parseDuration, parseQuantity, type ComponentConfig, type TimingProfile } from "@kubemu/common";

export const sandboxModes = ["auto", "bwrap", "none"] as const;
export type SandboxMode = (typeof sandboxModes)[number];

export interface KubeletConfig extends ComponentConfig {
  nodeName: string;
  nodeIp: string;
  /** The cluster this node belongs to (minikube.k8s.io/name): the first node's name. */
  podCidr: string | undefined;
  nodeLabels: Record<string, string>;
  capacity: { cpu: string; memory: string; ephemeralStorage: string | undefined; pods: string };
  clusterDns: string[];
  clusterDomain: string;
  /** The node's own directory: pods, volumes, logs (<state-dir>/nodes/<node>). */
  rootDir: string;
  sandbox: SandboxMode;
  /** User image catalog entries (~/.kubemu/images.yaml). */
  imagesFile: string;
  timing: TimingProfile & { syncFrequencyMs: number };
  /**
   * :10250 over HTTPS (upstream's --tls-cert-file/--tls-private-key-file), accepting only client
   * certificates from --client-ca-file that are the API servers' (CN kube-apiserver-kubelet-client
   * or O system:masters). Undefined: plain HTTP (test harnesses without a PKI).
   */
  serving: { cert: string; key: string; clientCa: string } | undefined;
  /** The plain-HTTP /healthz (and /kubemu/*) port beside the HTTPS one (upstream's :10248); only with `serving`. */
  healthzPort: number;
  /** Upstream's --streaming-connection-idle-timeout: exec/attach/port-forward connections idle this long are closed; 0 = never. */
  streamingConnectionIdleTimeoutMs: number;
}

function kubeletCommand(): Command {
  return componentCommand("kubemu-kubelet", "the node agent: registers the Node, heartbeats, and runs the pods bound to it as sandboxed processes", { port: 10250 })
    .requiredOption("--node-name <name>", "the Node's name")
    .requiredOption("--node-ip <ip>", "the node's InternalIP (a 127.0.0.0/8 address; in compose mode the container's address); serves on it")
    .option("--pod-cidr <cidr>", "the node's pod CIDR (a /24 in 127.0.0.0/8); pod IPs come from it")
    .option("--node-labels <labels>", "extra labels, key=value,key2=value2", "")
    .option("--capacity-cpu <cpus>", "cpu capacity the node reports (default: the host's CPUs)")
    .option("--capacity-memory <quantity>", "memory capacity the node reports (default: the host's memory)")
    .option("--capacity-ephemeral-storage <quantity>", "ephemeral-storage capacity (default: the size of the file system holding --root-dir)")
    .option("--max-pods <n>", "pods capacity", "110")
    .option("--cluster-dns <ips>", "nameserver(s) of ClusterFirst pods' /etc/resolv.conf", "127.96.0.10")
    .option("--cluster-domain <domain>", "the cluster's DNS domain", "cluster.local")
    .option("--root-dir <dir>", "the node's directory (default <state-dir>/nodes/<node-name>)")
    .addOption(new Option("--sandbox <mode>", "container sandbox: bwrap, none (plain processes), or auto (bwrap when it works)").choices([...sandboxModes]).default("auto"))
    .option("--images-file <file>", "user image catalog", join(homedir(), ".kubemu", "images.yaml"))
    .option("--sync-frequency <duration>", "periodic pod resync (volumes refreshed) (default from --profile)")
    .option("--node-status-update-frequency <duration>", "how often node status is computed, posted when changed (default from --profile)")
    .option("--node-status-report-frequency <duration>", "how often node status is posted when unchanged (default from --profile)")
    .option("--tls-cert-file <file>", "serving certificate of --port (HTTPS; needs --tls-private-key-file and --client-ca-file)")
    .option("--tls-private-key-file <file>", "private key of --tls-cert-file")
    .option("--client-ca-file <file>", "CA of the client certificates --port accepts (the API servers' kubelet client certificate)")
    .option("--healthz-port <port>", "with HTTPS: plain-HTTP /healthz and /kubemu/* on the node IP", "10248")
    .option("--streaming-connection-idle-timeout <duration>", "maximum time a streaming connection (exec, attach, port-forward) can be idle before it is closed; 0 = no timeout", "4h0m0s");
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? "" : part.slice(eq + 1);
    if (!LABEL_KEY.test(key)) throw new FlagError(`--node-labels: invalid label key "${key}"`);
    if (value !== "" && !/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(value)) throw new FlagError(`--node-labels: invalid label value "${value}" for "${key}"`);
    out[key] = value;
  }
  return out;
}

function quantityFlag(flag: string, value: string): string {
  try {
    parseQuantity(value);
  } catch {
    throw new FlagError(`${flag}: "${value}" is not a quantity`);
  }
  return value;
}

const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseKubeletFlags(argv: readonly string[]): KubeletConfig {
  const cmd = kubeletCommand();
  const base = parseComponentFlags(cmd, argv);
  const o = base.options;
  const nodeName = String(o["nodeName"]);
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) throw new FlagError(`--node-name "${nodeName}" is not a valid node name`);
  const nodeIp = String(o["nodeIp"]);
  // Compose mode: the node container's own address on the project's Docker network.
  if (!(composeNetwork() ? IPV4 : IPV4_LOOPBACK).test(nodeIp)) throw new FlagError(`--node-ip "${nodeIp}" must be a 127.0.0.0/8 address`);
  const podCidr = o["podCidr"] === undefined ? undefined : String(o["podCidr"]);
  if (podCidr !== undefined && !/^127\.\d{1,3}\.\d{1,3}\.0\/24$/.test(podCidr)) throw new FlagError(`--pod-cidr "${podCidr}" must be a /24 in 127.0.0.0/8, e.g. 127.244.1.0/24`);
  const maxPods = String(o["maxPods"]);
  if (!/^\d+$/.test(maxPods) || Number(maxPods) < 1) throw new FlagError(`--max-pods "${maxPods}" must be a positive integer`);
  const profile = TIMING_PROFILES[base.profile];
  const dur = (flag: string, key: string, fallback: number) => (o[key] === undefined ? fallback : parseDuration(String(o[key]), flag));
  const stateDir = base.stateDir ?? join(homedir(), ".kubemu", "kubemu");
  // The component server listens on the node's IP unless --bind-address says otherwise.
  const bindAddress = cmd.getOptionValueSource("bindAddress") === "default" ? nodeIp : base.bindAddress;
  const servingFiles = [o["tlsCertFile"], o["tlsPrivateKeyFile"], o["clientCaFile"]];
  if (servingFiles.some((f) => f !== undefined) && servingFiles.some((f) => f === undefined))
    throw new FlagError("--tls-cert-file, --tls-private-key-file and --client-ca-file go together");
  const read = (flag: string, file: unknown) => {
    try {
      return readFileSync(String(file), "utf8");
    } catch (e) {
      throw new FlagError(`${flag}: ${(e as Error).message}`);
    }
  };
  const serving = o["tlsCertFile"] === undefined ? undefined : { cert: read("--tls-cert-file", o["tlsCertFile"]), key: read("--tls-private-key-file", o["tlsPrivateKeyFile"]), clientCa: read("--client-ca-file", o["clientCaFile"]) };
  const healthzPort = Number(o["healthzPort"]);
  if (!/^\d+$/.test(String(o["healthzPort"])) || healthzPort > 65535) throw new FlagError(`--healthz-port must be an integer 0-65535, got "${String(o["healthzPort"])}"`);
  return {
    serving,
    healthzPort,
    streamingConnectionIdleTimeoutMs: parseDuration(String(o["streamingConnectionIdleTimeout"]), "--streaming-connection-idle-timeout"),
    ...base,
    bindAddress,
    nodeName,
    nodeIp,
    podCidr,
    nodeLabels: parseLabels(String(o["nodeLabels"])),
    capacity: {
      cpu: o["capacityCpu"] === undefined ? String(availableParallelism()) : quantityFlag("--capacity-cpu", String(o["capacityCpu"])),
      memory: o["capacityMemory"] === undefined ? `${Math.floor(totalmem() / 1024)}Ki` : quantityFlag("--capacity-memory", String(o["capacityMemory"])),
      ephemeralStorage: o["capacityEphemeralStorage"] === undefined ? undefined : quantityFlag("--capacity-ephemeral-storage", String(o["capacityEphemeralStorage"])),
      pods: maxPods,
    },
    clusterDns: String(o["clusterDns"]).split(",").map((s) => s.trim()).filter(Boolean),
    clusterDomain: String(o["clusterDomain"]),
    rootDir: o["rootDir"] === undefined ? join(stateDir, "nodes", nodeName) : String(o["rootDir"]),
    sandbox: o["sandbox"] as SandboxMode,
    imagesFile: String(o["imagesFile"]),
    timing: {
      ...profile,
      syncFrequencyMs: dur("--sync-frequency", "syncFrequency", profile.podResyncMs),
      nodeStatusUpdateMs: dur("--node-status-update-frequency", "nodeStatusUpdateFrequency", profile.nodeStatusUpdateMs),
      nodeStatusReportMs: dur("--node-status-report-frequency", "nodeStatusReportFrequency", profile.nodeStatusReportMs),
    },
  };
}
