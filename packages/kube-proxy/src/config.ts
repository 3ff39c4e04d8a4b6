/**
 * kube-proxy's flags: the common component flags plus the node it runs for and upstream's
 * --healthz-bind-address (default <node-ip>:10256), --metrics-bind-address (<node-ip>:10249;
 * "" turns it off), --sync-period, --min-sync-period and --udp-timeout (the userspace proxy's
 * UDP session idle timeout), and kubemu's --bind-retry-period: how often a kube-proxy retries
 * a ClusterIP another kube-proxy on the host holds (its takeover delay when the holder dies), and
 * --cross-node-via-kubelet (compose mode: a pod on another node is reached through that node's
 * kubelet port-forward endpoint).
 */
import { FlagError, componentCommand, parseComponentFlags, parseDuration, type ComponentConfig } from "@kubemu/common";

export interface HostPort {
  host: string;
  port: number;
}

export interface KubeProxyConfig extends ComponentConfig {
  nodeName: string;
  nodeIp: string;
  healthz: HostPort;
  metrics: HostPort | undefined;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  udpTimeoutMs: number;
  bindRetryMs: number;
  crossNodeViaKubelet: boolean;
}

const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isLoopback = (ip: string) => LOOPBACK.test(ip) && ip.split(".").every((o) => Number(o) <= 255);

function hostPort(flag: string, text: string): HostPort {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !isLoopback(m[1]!) || port < 1 || port > 65535) throw new FlagError(`${flag}: "${text}" must be <127.x.y.z>:<port>`);
  return { host: m[1]!, port };
}

export function parseKubeProxyFlags(argv: readonly string[]): KubeProxyConfig {
  const cmd = componentCommand("kubemu-kube-proxy", "proxies Service addresses (ClusterIP, NodePort, externalIPs, load-balancer IPs) to their endpoints, TCP and UDP, in userspace", { port: 10256 })
    .requiredOption("--node-name <name>", "the Node this proxy runs on")
    .requiredOption("--node-ip <ip>", "the node's IP (a 127.0.0.0/8 address): NodePorts listen on it")
    .option("--healthz-bind-address <ip:port>", "address of /healthz and /livez (default <node-ip>:--port)")
    .option("--metrics-bind-address <ip:port>", 'address of /metrics ("" to turn it off) (default <node-ip>:10249)')
    .option("--sync-period <duration>", "how often everything is resynced even without changes", "30s")
    .option("--min-sync-period <duration>", "least time between two syncs (a change after a quiet spell syncs at once; bursts are batched)", "100ms")
    .option("--udp-timeout <duration>", "how long an idle UDP session is kept", "250ms")
    .option("--bind-retry-period <duration>", "how often a ClusterIP held by another kube-proxy on the host is tried again", "200ms")
    .option("--cross-node-via-kubelet", "compose mode: reach endpoints on other nodes through their kubelet's port-forward endpoint (TCP only; UDP endpoints on other nodes are not used)", false);
  const base = parseComponentFlags(cmd, argv);
  const o = base.options;
  const nodeName = String(o["nodeName"]);
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) throw new FlagError(`--node-name "${nodeName}" is not a valid node name`);
  const nodeIp = String(o["nodeIp"]);
  if (!isLoopback(nodeIp)) throw new FlagError(`--node-ip "${nodeIp}" must be a 127.0.0.0/8 address`);
  const bindHost = cmd.getOptionValueSource("bindAddress") === "default" ? nodeIp : base.bindAddress;
  const healthz = o["healthzBindAddress"] === undefined ? { host: bindHost, port: base.port } : hostPort("--healthz-bind-address", String(o["healthzBindAddress"]));
  const metricsFlag = o["metricsBindAddress"];
  const metrics = metricsFlag === undefined ? { host: nodeIp, port: 10249 } : String(metricsFlag) === "" ? undefined : hostPort("--metrics-bind-address", String(metricsFlag));
  const dur = (flag: string, key: string) => parseDuration(String(o[key]), flag);
  const udpTimeoutMs = dur("--udp-timeout", "udpTimeout");
  if (udpTimeoutMs <= 0) throw new FlagError("--udp-timeout must be greater than 0");
  const bindRetryMs = dur("--bind-retry-period", "bindRetryPeriod");
  if (bindRetryMs <= 0) throw new FlagError("--bind-retry-period must be greater than 0");
  const syncPeriodMs = dur("--sync-period", "syncPeriod");
  if (syncPeriodMs <= 0) throw new FlagError("--sync-period must be greater than 0");
  return {
    ...base,
    bindAddress: healthz.host,
    port: healthz.port,
    nodeName,
    nodeIp,
    healthz,
    metrics,
    syncPeriodMs,
    minSyncPeriodMs: dur("--min-sync-period", "minSyncPeriod"),
    udpTimeoutMs,
    bindRetryMs,
    crossNodeViaKubelet: o["crossNodeViaKubelet"] === true,
  };
}
