/**
 * Prometheus metrics of one member, named after etcd's where an equivalent exists. Each server
 * has its own Registry (no global state), served on the control URL at /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class ServerMetrics {
  readonly registry = new Registry();
  readonly hasLeader = new Gauge({ name: "etcd_server_has_leader", help: "1 if a leader is known, else 0", registers: [this.registry] });
  readonly isLeader = new Gauge({ name: "etcd_server_is_leader", help: "1 if this member is the leader, else 0", registers: [this.registry] });
  readonly term = new Gauge({ name: "etcd_server_raft_term", help: "current Raft term", registers: [this.registry] });
  readonly leaderChanges = new Counter({ name: "etcd_server_leader_changes_seen_total", help: "leader changes seen", registers: [this.registry] });
  readonly commitIndex = new Gauge({ name: "etcd_server_committed_index", help: "Raft commit index", registers: [this.registry] });
  readonly appliedIndex = new Gauge({ name: "etcd_server_applied_index", help: "Raft applied index", registers: [this.registry] });
  readonly proposalsCommitted = new Counter({ name: "etcd_server_proposals_committed_total", help: "proposals committed and applied", registers: [this.registry] });
  readonly proposalsFailed = new Counter({ name: "etcd_server_proposals_failed_total", help: "proposals that were lost or rejected", registers: [this.registry] });
  readonly proposalsPending = new Gauge({ name: "etcd_server_proposals_pending", help: "proposals waiting to be applied", registers: [this.registry] });
  readonly snapshots = new Counter({ name: "etcd_server_snapshots_total", help: "snapshots this member made of its own state", registers: [this.registry] });
  readonly snapshotsInstalled = new Counter({
    name: "etcd_server_snapshots_installed_total",
    help: "snapshots received from the leader and installed",
    registers: [this.registry],
  });
  readonly fsyncSeconds = new Histogram({
    name: "etcd_disk_wal_fsync_duration_seconds",
    help: "time to persist one Ready (write + fdatasync, group-committed)",
    buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024],
    registers: [this.registry],
  });
  readonly applySeconds = new Histogram({
    name: "etcd_server_apply_duration_seconds",
    help: "time to apply the committed entries of one Ready",
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128],
    registers: [this.registry],
  });
  readonly peerMessagesSent = new Counter({ name: "etcd_network_peer_messages_sent_total", help: "Raft messages handed to the peer transport", registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
