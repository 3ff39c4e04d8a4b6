#!/usr/bin/env node
/**
 * kubemu-apiserver: a stateless Kubernetes API server over the replicated store. A bad flag
 * prints one line and exits 2; SIGTERM/SIGINT stop it gracefully (not ready, leave the
 * `kubernetes` endpoints, close connections) and exit 0.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLogger, randomRng, realClock, runProcessMain } from "@kubemu/common";
import { EtcdClient, MvccStore } from "@kubemu/etcd-raft";
import { ConfigError, parseArgs, type ApiServerConfig } from "./config.js";
import { FileAuditBackend } from "./audit/file-backend.js";
import { ApiServer, type ApiServerOptions } from "./apiserver.js";
import { EtcdBackend, KvStorageFactory, MvccBackend, type KvBackend } from "./storage/index.js";
import { httpComponentStatus } from "./component-status.js";

/** Reads the PEM files the flags name; an unreadable one is a ConfigError (exit 2). */
function readCredentials(cfg: ApiServerConfig): Pick<ApiServerOptions, "tls" | "serviceAccount" | "kubeletClientTls"> {
  try {
    const creds: Pick<ApiServerOptions, "tls" | "serviceAccount" | "kubeletClientTls"> = {};
    if (cfg.kubeletClientCertificate && cfg.kubeletClientKey)
      creds.kubeletClientTls = {
        cert: readFileSync(cfg.kubeletClientCertificate),
        key: readFileSync(cfg.kubeletClientKey),
        ...(cfg.kubeletCertificateAuthority ? { ca: readFileSync(cfg.kubeletCertificateAuthority) } : {}),
      };
    if (cfg.tlsCertFile && cfg.tlsPrivateKeyFile)
      creds.tls = { cert: readFileSync(cfg.tlsCertFile), key: readFileSync(cfg.tlsPrivateKeyFile), ...(cfg.clientCaFile ? { ca: readFileSync(cfg.clientCaFile) } : {}) };
    if (cfg.serviceAccountSigningKeyFile) {
      const signingKey = createPrivateKey(readFileSync(cfg.serviceAccountSigningKeyFile));
      const files = cfg.serviceAccountKeyFiles.length > 0 ? cfg.serviceAccountKeyFiles : [cfg.serviceAccountSigningKeyFile];
      creds.serviceAccount = { signingKey, publicKeys: files.map((f) => createPublicKey(readFileSync(f))), issuer: cfg.serviceAccountIssuer, audiences: cfg.apiAudiences };
    }
    return creds;
  } catch (e) {
    throw new ConfigError(`cannot read key or certificate files: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The store client's TLS (upstream's --etcd-cafile/--etcd-certfile/--etcd-keyfile), read at start. */
function etcdTls(cfg: ApiServerConfig): { tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer } } {
  if (cfg.etcdCaFile === undefined && cfg.etcdCertFile === undefined) return {};
  try {
    return {
      tls: {
        ...(cfg.etcdCaFile ? { ca: readFileSync(cfg.etcdCaFile) } : {}),
        ...(cfg.etcdCertFile && cfg.etcdKeyFile ? { cert: readFileSync(cfg.etcdCertFile), key: readFileSync(cfg.etcdKeyFile) } : {}),
      },
    };
  } catch (e) {
    throw new ConfigError(`cannot read the --etcd-* files: ${e instanceof Error ? e.message : String(e)}`);
  }
}

void runProcessMain<ApiServerConfig>({
  bin: "kubemu-apiserver",
  parse: parseArgs,
  usage: (e) => (e instanceof ConfigError ? { text: e.message, help: false } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  async start(cfg, log) {
    const creds = readCredentials(cfg);
    const { rng } = randomRng();
    const backend: KvBackend =
      cfg.storage === "memory"
        ? new MvccBackend(new MvccStore())
        : new EtcdBackend(new EtcdClient({ endpoints: cfg.etcdServers, name: cfg.name, logger: log, clock: realClock, rng: rng.fork(), ...etcdTls(cfg) }));
    if (!creds.tls) log.warn({ address: `${cfg.bindAddress}:${cfg.port}` }, "no --tls-cert-file: serving plain HTTP with no authentication, every client acts as system:masters (test-only)");
    if (!creds.serviceAccount) log.warn("no --service-account-signing-key-file: service account tokens made here are valid on this apiserver only");
    const server = new ApiServer({
      ...creds,
      ...(cfg.insecurePort !== undefined ? { insecurePort: cfg.insecurePort } : {}),
      name: cfg.name,
      storage: new KvStorageFactory({ backend, logger: log }),
      profile: cfg.profile,
      rng,
      logger: log,
      compactionIntervalMs: cfg.compactionIntervalMs,
      defaultMetrics: true,
      componentStatus: httpComponentStatus(cfg.componentStatus),
      disableAdmissionPlugins: cfg.disableAdmissionPlugins,
      authorizationModes: cfg.authorizationModes,
      serviceCidr: cfg.serviceCidr,
      ...(cfg.auditLogPath !== undefined
        ? { audit: new FileAuditBackend({ path: cfg.auditLogPath, log, clock: realClock, maxBytes: cfg.auditLogMaxSizeMb * 1024 * 1024, maxBackups: cfg.auditLogMaxBackup }) }
        : {}),
    });
    await server.start(cfg.bindAddress, cfg.port);
    return server;
  },
});
