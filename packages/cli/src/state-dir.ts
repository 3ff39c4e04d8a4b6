import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { CliError } from "./errors.js";

const clusterNamePattern = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** Checks --cluster: it names the state dir and the first node, so it must be a DNS label. */
export function parseClusterName(value: string): string {
  if (!clusterNamePattern.test(value)) {
    throw new CliError(`invalid cluster name "${value}" (lowercase letters, digits and '-', at most 40 characters)`);
  }
  return value;
}

/**
 * Where a cluster's state lives: --state-dir if given, else $KUBEMU_HOME, else ~/.kubemu/<cluster>.
 */
export function resolveStateDir(opts: { stateDir?: string; cluster: string; env?: NodeJS.ProcessEnv }): string {
  const env = opts.env ?? process.env;
  if (opts.stateDir !== undefined && opts.stateDir !== "") return resolve(opts.stateDir);
  const home = env.KUBEMU_HOME;
  if (home !== undefined && home !== "") return resolve(home);
  return join(homedir(), ".kubemu", opts.cluster);
}

/** The files and directories inside a state dir. */
export class StatePaths {
  constructor(readonly root: string) {}
  get clusterFile(): string {
    return join(this.root, "cluster.json");
  }
  get lockFile(): string {
    return join(this.root, "lock");
  }
  /** kubectl configuration pointing at apiserver-lb (written by `up` with the built-in table). */
  get kubeconfig(): string {
    return join(this.root, "kubeconfig");
  }
  /** The cluster CA and certificates (made by `up` unless --insecure-http). */
  get pkiDir(): string {
    return join(this.root, "pki");
  }
  get logsDir(): string {
    return join(this.root, "logs");
  }
  get dataRoot(): string {
    return join(this.root, "data");
  }
  /** `<state>/data/<name>/`: the process's own data directory (and its working directory). */
  dataDir(name: string): string {
    return join(this.dataRoot, name);
  }
  /** The component's own pino JSON log. */
  logFile(name: string): string {
    return join(this.logsDir, `${name}.log`);
  }
  /** The process's captured stdout and stderr. */
  outFile(name: string): string {
    return join(this.logsDir, `${name}.out`);
  }
}
