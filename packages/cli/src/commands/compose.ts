import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { composeDnsNames, composeNodes, defaultComposeHostPort, renderComposeFile } from "../compose/file.js";
import { composeMaxNodes } from "../compose/network.js";
import { repoRoot } from "../components.js";
import type { CommandContext } from "../context.js";
import { CliError } from "../errors.js";
import { writeKubeconfig } from "../kubeconfig.js";
import { ensureClusterPki } from "../pki.js";

export interface ComposeCommandOptions {
  nodes: number;
  /** Where docker-compose.yml goes; default the repo root (the committed file). */
  output?: string;
}

/** Relative to the compose file: `docker-compose` resolves host paths against its directory. */
export const composeStateDir = "compose-state";

/**
 * `kubemu compose`: writes docker-compose.yml and, beside it, compose-state/pki (the cluster's
 * certificates with the service names and node container addresses, mounted read-only into every
 * container) and compose-state/kubeconfig (kubectl on the host, through the published apiserver-lb).
 */
export async function compose(ctx: CommandContext, o: ComposeCommandOptions): Promise<number> {
  if (o.nodes > composeMaxNodes) throw new CliError(`--nodes ${o.nodes}: compose mode has addresses for at most ${composeMaxNodes} nodes`);
  const file = o.output ?? join(repoRoot, "docker-compose.yml");
  const dir = join(file, "..");
  const text = renderComposeFile({ cluster: ctx.cluster, nodeCount: o.nodes, pkiDir: `./${composeStateDir}/pki` });
  const pki = await ensureClusterPki(join(dir, composeStateDir, "pki"), new Date(ctx.clock.now()), ctx.logger(), composeNodes(ctx.cluster, o.nodes), [], composeDnsNames);
  const kubeconfig = join(dir, composeStateDir, "kubeconfig");
  writeKubeconfig(kubeconfig, ctx.cluster, `https://127.0.0.1:${defaultComposeHostPort}`, {
    caCert: readFileSync(pki.caCert, "utf8"),
    clientCert: readFileSync(pki.adminCert, "utf8"),
    clientKey: readFileSync(pki.adminKey, "utf8"),
  });
  writeFileSync(file, text);
  ctx.io.out(`wrote ${file} (${o.nodes} nodes) and ${join(dir, composeStateDir)}/{pki,kubeconfig}`);
  ctx.io.out(`next: scripts/compose-base-image.sh && docker build -t kubemu:latest . && docker-compose up -d; export KUBECONFIG=${kubeconfig}`);
  return 0;
}
