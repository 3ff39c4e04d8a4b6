/** DESIGN.md's timing profiles: every duration a component takes from `--profile`. */

export const profileNames = ["fast", "realistic"] as const;
export type ProfileName = (typeof profileNames)[number];

export interface TimingProfile {
  /** Leader election: lease duration, renew deadline, retry period. */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Node heartbeats: the kubelet's Lease renew interval and the node controller's grace period (--node-monitor-grace-period). */
  nodeLeaseRenewMs: number;
  nodeMonitorGraceMs: number;
  /** Node lifecycle controller: how often it checks node heartbeats (--node-monitor-period). */
  nodeMonitorPeriodMs: number;
  /** Node lifecycle controller: the grace for a node that never posted a Ready condition (--node-startup-grace-period). */
  nodeStartupGraceMs: number;
  /** Pod GC controller: how often it runs (upstream's gcCheckPeriod) and how long a missing node is quarantined before its pods go (quarantineTime). */
  podGCPeriodMs: number;
  podGCQuarantineMs: number;
  /** not-ready / unreachable tolerationSeconds the API server adds to pods. */
  notReadyTolerationSeconds: number;
  /** CrashLoopBackOff: first delay and cap. */
  crashLoopBackoffBaseMs: number;
  crashLoopBackoffCapMs: number;
  /** Kubelet: node status computed (posted when it changed) every update period, posted anyway every report period. */
  nodeStatusUpdateMs: number;
  nodeStatusReportMs: number;
  /** Kubelet: periodic resync of every pod (configMap/secret/downwardAPI volumes refreshed, status checked). */
  podResyncMs: number;
  /** Kubelet: how long a simulated image pull takes (min, max). */
  imagePullMinMs: number;
  imagePullMaxMs: number;
}

export const TIMING_PROFILES: Readonly<Record<ProfileName, TimingProfile>> = {
  fast: {
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 500,
    nodeLeaseRenewMs: 1000,
    nodeMonitorGraceMs: 5000,
    nodeMonitorPeriodMs: 1000,
    nodeStartupGraceMs: 6000,
    podGCPeriodMs: 2000,
    podGCQuarantineMs: 4000,
    notReadyTolerationSeconds: 10,
    crashLoopBackoffBaseMs: 1000,
    crashLoopBackoffCapMs: 30_000,
    nodeStatusUpdateMs: 1000,
    nodeStatusReportMs: 10_000,
    podResyncMs: 2000,
    imagePullMinMs: 100,
    imagePullMaxMs: 400,
  },
  realistic: {
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2000,
    nodeLeaseRenewMs: 10_000,
    // kube-controller-manager 1.32's --node-monitor-grace-period default.
    nodeMonitorGraceMs: 50_000,
    nodeMonitorPeriodMs: 5000,
    nodeStartupGraceMs: 60_000,
    podGCPeriodMs: 20_000,
    podGCQuarantineMs: 40_000,
    notReadyTolerationSeconds: 300,
    crashLoopBackoffBaseMs: 10_000,
    crashLoopBackoffCapMs: 300_000,
    nodeStatusUpdateMs: 10_000,
    nodeStatusReportMs: 60_000,
    podResyncMs: 60_000,
    imagePullMinMs: 800,
    imagePullMaxMs: 2500,
  },
};
