#!/usr/bin/env node
/**
 * kubemu-apiserver: a stateless Kubernetes API server over the replicated store. A bad flag
 * prints one line and exits 2; SIGTERM/SIGINT stop it gracefully (not ready, leave the
 * `kubernetes` endpoints, close connections) and exit 0.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLogger, randomRng, realClock, type Logger } from "@kubemu/common";
import { EtcdClient, MvccStore } from "@kubemu/etcd-raft";
import { ConfigError, parseArgs, type ApiServerConfig } from "./config.js";
import { ApiServer, type ApiServerOptions } from "./apiserver.js";
import { EtcdBackend, KvStorageFactory, MvccBackend, type KvBackend } from "./storage/index.js";
import { httpComponentStatus } from "./component-status.js";

async function main(): Promise<void> {
  let cfg: ApiServerConfig;
  try {
    cfg = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kubemu-apiserver: ${e.message.trim()}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log: Logger = createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel });
  const exit = (code: number) => {
    process.exitCode = code;
    log.flush?.();
    setTimeout(() => process.exit(code), 20);
  };
  process.on("uncaughtException", (e) => {
    log.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "uncaught exception; exiting");
    exit(1);
  });
  process.on("unhandledRejection", (e) => {
    log.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "unhandled rejection; exiting");
    exit(1);
  });
  const { rng } = randomRng();
  const backend: KvBackend =
    cfg.storage === "memory"
      ? new MvccBackend(new MvccStore())
      : new EtcdBackend(new EtcdClient({ endpoints: cfg.etcdServers, name: cfg.name, logger: log, clock: realClock, rng: rng.fork() }));
  const storage = new KvStorageFactory({ backend, logger: log });
  let tls: { cert: Buffer; key: Buffer; ca?: Buffer } | undefined;
  let serviceAccount: ApiServerOptions["serviceAccount"];
  try {
    if (cfg.tlsCertFile && cfg.tlsPrivateKeyFile)
      tls = { cert: readFileSync(cfg.tlsCertFile), key: readFileSync(cfg.tlsPrivateKeyFile), ...(cfg.clientCaFile ? { ca: readFileSync(cfg.clientCaFile) } : {}) };
    if (cfg.serviceAccountSigningKeyFile) {
      const signingKey = createPrivateKey(readFileSync(cfg.serviceAccountSigningKeyFile));
      const files = cfg.serviceAccountKeyFiles.length > 0 ? cfg.serviceAccountKeyFiles : [cfg.serviceAccountSigningKeyFile];
      serviceAccount = { signingKey, publicKeys: files.map((f) => createPublicKey(readFileSync(f))), issuer: cfg.serviceAccountIssuer, audiences: cfg.apiAudiences };
    }
  } catch (e) {
    process.stderr.write(`kubemu-apiserver: cannot read key or certificate files: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  if (!serviceAccount) log.warn("no --service-account-signing-key-file: service account tokens made here are valid on this apiserver only");
  const server = new ApiServer({
    ...(tls ? { tls } : {}),
    ...(serviceAccount ? { serviceAccount } : {}),
    ...(cfg.insecurePort !== undefined ? { insecurePort: cfg.insecurePort } : {}),
    name: cfg.name,
    storage,
    profile: cfg.profile,
    rng,
    logger: log,
    compactionIntervalMs: cfg.compactionIntervalMs,
    defaultMetrics: true,
    componentStatus: httpComponentStatus(cfg.componentStatus),
  });
  // Handlers go in before the (slow) start so an early SIGTERM still exits cleanly.
  let started = false;
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal: sig }, "shutting down");
    if (!started) return exit(0);
    server.stop().then(
      () => exit(0),
      (e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, "shutdown failed");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await server.start(cfg.bindAddress, cfg.port);
    started = true;
  } catch (e) {
    log.fatal({ err: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, "cannot start kubemu-apiserver");
    exit(1);
    return;
  }
}

void main();
