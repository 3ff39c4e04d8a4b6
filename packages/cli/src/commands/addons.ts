/**
 * `kubemu addons list|enable|disable` in minikube's shape and words (cmd/minikube/cmd/config/
 * addons_list.go, enable.go, disable.go): the list table, "🌟  The 'x' addon is enabled",
 * "🌑  The 'x' addon is disabled", and minikube's errors for a name that is not an addon.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { applyAddons, deleteAddons, replaceAddons } from "../addons/apply.js";
import type { Addon } from "../addons/local-path-storage.js";
import { addonRegistry, findAddon, type AddonDefinition } from "../addons/registry.js";
import { isEnabled, readAddonsFile, writeAddonsFile } from "../addons/state.js";
import { readClusterState, requireUpCluster } from "../cluster-state.js";
import type { CommandContext } from "../context.js";
import { CliError } from "../errors.js";
import type { KubeconfigCredentials } from "../kubeconfig.js";

/** Creates and deletes addon objects (the real one talks to the cluster's API server; tests pass a fake). */
export interface AddonsApi {
  create(objects: Addon[]): Promise<string[]>;
  /** Overwrites objects that exist (creates the others). */
  replace(objects: Addon[]): Promise<string[]>;
  delete(objects: Addon[]): Promise<string[]>;
}

export interface AddonsOptions {
  /** The API to use; default: the cluster's apiserver-lb with the admin credentials of `<state>/kubeconfig`. */
  api?: AddonsApi;
  /** Asks one question on the terminal; undefined when stdin is not a terminal (defaults are used). */
  ask?: (prompt: string) => Promise<string>;
  /** Values given as flags, by question key. */
  answers?: Record<string, string>;
  registry?: readonly AddonDefinition[];
}

const GREEN = "\x1b[32m";
const RESET = "\x1b[0m";

/** Display width: the ✅ emoji takes two columns. */
const width = (s: string) => [...s].reduce((n, ch) => n + (ch === "✅" ? 2 : 1), 0);
const padEnd = (s: string, w: number) => s + " ".repeat(Math.max(0, w - width(s)));
function center(s: string, w: number): string {
  const pad = Math.max(0, w - width(s));
  return " ".repeat(Math.floor(pad / 2)) + s + " ".repeat(pad - Math.floor(pad / 2));
}

/** minikube's table (olekukonko/tablewriter): dashed borders, centred upper-case header, left-aligned cells. */
export function renderAddonsTable(header: string[], rows: string[][], colorRow?: (i: number) => boolean): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const border = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  const line = (cells: string[]) => `|${cells.map((c) => ` ${c} `).join("|")}|`;
  return [
    border,
    line(header.map((h, i) => center(h.toUpperCase(), widths[i]!))),
    border,
    ...rows.map((r, j) => line(r.map((c, i) => (colorRow?.(j) ? `${GREEN}${padEnd(c, widths[i]!)}${RESET}` : padEnd(c, widths[i]!))))),
    border,
  ];
}

/** `kubemu addons list`: with a cluster, NAME / PROFILE / STATUS / MAINTAINER; without one, NAME / MAINTAINER. */
export function addonsList(ctx: CommandContext, output: string, opts: AddonsOptions = {}): number {
  const registry = [...(opts.registry ?? addonRegistry)].sort((a, b) => a.name.localeCompare(b.name));
  const hasCluster = readClusterState(ctx.paths) !== undefined;
  const file = hasCluster ? readAddonsFile(ctx.paths.root) : {};
  const status = (on: boolean) => (on ? "enabled" : "disabled");
  switch (output.toLowerCase()) {
    case "list": {
      const rows = registry.map((a) => (hasCluster ? [a.name, ctx.cluster, `${status(isEnabled(a, file))} ${isEnabled(a, file) ? "✅" : "   "}`, a.maintainer] : [a.name, a.maintainer]));
      const header = hasCluster ? ["Addon Name", "Profile", "Status", "Maintainer"] : ["Addon Name", "Maintainer"];
      for (const l of renderAddonsTable(header, rows, ctx.io.isTTY && hasCluster ? (j) => isEnabled(registry[j]!, file) : undefined)) ctx.io.out(l);
      return 0;
    }
    case "json": {
      const map: Record<string, Record<string, string>> = {};
      for (const a of registry) map[a.name] = hasCluster ? { Status: status(isEnabled(a, file)), Profile: ctx.cluster } : {};
      ctx.io.out(JSON.stringify(map));
      return 0;
    }
    default:
      throw new CliError(`Exiting due to MK_USAGE: invalid output format: ${output}. Valid values: 'list', 'json'`);
  }
}

async function answer(addon: AddonDefinition, opts: AddonsOptions, defaults: Record<string, string> = {}): Promise<Record<string, string>> {
  const config: Record<string, string> = {};
  for (const question of addon.questions ?? []) {
    const q = { ...question, default: defaults[question.key] ?? question.default };
    const given = opts.answers?.[q.key];
    if (given !== undefined) {
      const why = q.check(given);
      if (why !== undefined) throw new CliError(`Exiting due to MK_USAGE: ${q.flag}: ${why}`);
      config[q.key] = given;
      continue;
    }
    if (opts.ask === undefined) {
      config[q.key] = q.default;
      continue;
    }
    // minikube's AskForStaticValidatedValue: ask again until the value is valid; kubemu offers a default.
    for (;;) {
      const typed = (await opts.ask(`${q.prompt.replace(/: $/, "")} [${q.default}]: `)).trim();
      const value = typed === "" ? q.default : typed;
      if (q.check(value) === undefined) {
        config[q.key] = value;
        break;
      }
    }
  }
  return config;
}

/** `kubemu addons enable NAME`: creates the addon's objects (those already there are kept) and remembers it. */
export async function addonsEnable(ctx: CommandContext, name: string, opts: AddonsOptions = {}): Promise<number> {
  const addon = findAddon(name, opts.registry ?? addonRegistry);
  if (addon === undefined) throw new CliError(`Exiting due to MK_ADDON_ENABLE: enable failed: run callbacks: ${name} is not a valid addon`);
  requireUpCluster(ctx.paths, ctx.cluster);
  const api = opts.api ?? clusterApi(ctx);
  if (!addon.maintainer.startsWith("3rd party") && addon.maintainer !== "") {
    ctx.io.out(`💡  ${addon.name} is an addon maintained by ${addon.maintainer}. For any concerns contact kubemu on GitHub.`);
  } else {
    ctx.io.out(`❗  ${addon.name} is a 3rd party addon and is not maintained or verified by kubemu maintainers, enable at your own risk.`);
    ctx.io.out(`❗  ${addon.name} does not currently have an associated maintainer.`);
  }
  const config = await answer(addon, opts);
  for (const image of addon.images) ctx.io.out(`    ▪ Using image ${image}`);
  const failed = await api.create(addon.objects({ config }));
  if (failed.length > 0) throw new CliError(`Exiting due to MK_ADDON_ENABLE: enable failed: ${failed.join("; ")}`);
  const file = readAddonsFile(ctx.paths.root);
  file[addon.name] = { enabled: true, ...(Object.keys(config).length > 0 ? { config } : {}) };
  writeAddonsFile(ctx.paths.root, file);
  ctx.logger().info({ addon: addon.name, config }, "addon enabled");
  ctx.io.out(`🌟  The '${addon.name}' addon is enabled`);
  return 0;
}

/**
 * `kubemu addons configure NAME` (minikube's, for metallb): asks the questions again (the current
 * answers are the defaults), remembers them and enables the addon with them — an enabled addon gets
 * only the objects that changed replaced (metallb: the `config` ConfigMap).
 */
export async function addonsConfigure(ctx: CommandContext, name: string, opts: AddonsOptions = {}): Promise<number> {
  const addon = findAddon(name, opts.registry ?? addonRegistry);
  if (addon === undefined || (addon.questions ?? []).length === 0) throw new CliError(`${name} has no available configuration options`);
  requireUpCluster(ctx.paths, ctx.cluster);
  const file = readAddonsFile(ctx.paths.root);
  const before = { ...Object.fromEntries(addon.questions!.map((q) => [q.key, q.default])), ...file[addon.name]?.config };
  const config = await answer(addon, opts, before);
  const api = opts.api ?? clusterApi(ctx);
  const render = (c: Record<string, string>) => addon.objects({ config: c });
  let failed: string[];
  if (isEnabled(addon, file)) {
    const old = new Map(render(before).map((a) => [`${a.path}/${a.object.metadata.name}`, JSON.stringify(a.object)]));
    failed = await api.replace(render(config).filter((a) => old.get(`${a.path}/${a.object.metadata.name}`) !== JSON.stringify(a.object)));
  } else {
    failed = await api.create(render(config));
  }
  if (failed.length > 0) throw new CliError(`Failed to configure ${addon.name}: ${failed.join("; ")}`);
  file[addon.name] = { enabled: true, config };
  writeAddonsFile(ctx.paths.root, file);
  ctx.logger().info({ addon: addon.name, config }, "addon configured");
  ctx.io.out(`✅  ${addon.name} was successfully configured`);
  return 0;
}

/** `kubemu addons disable NAME`: deletes the addon's objects if it is enabled; says it is disabled either way (as minikube). */
export async function addonsDisable(ctx: CommandContext, name: string, opts: AddonsOptions = {}): Promise<number> {
  const addon = findAddon(name, opts.registry ?? addonRegistry);
  if (addon === undefined) throw new CliError(`Exiting due to SVC_ADDON_UNSUPPORTED: '${name}' is not a valid kubemu addon`);
  requireUpCluster(ctx.paths, ctx.cluster);
  const file = readAddonsFile(ctx.paths.root);
  if (isEnabled(addon, file)) {
    const api = opts.api ?? clusterApi(ctx);
    const config = { ...Object.fromEntries((addon.questions ?? []).map((q) => [q.key, q.default])), ...file[addon.name]?.config };
    const failed = await api.delete(addon.objects({ config }));
    if (failed.length > 0) throw new CliError(`Exiting due to MK_ADDON_DISABLE: disable failed: ${failed.join("; ")}`);
    file[addon.name] = { enabled: false };
    writeAddonsFile(ctx.paths.root, file);
    ctx.logger().info({ addon: addon.name }, "addon disabled");
  }
  ctx.io.out(`🌑  The '${addon.name}' addon is disabled`);
  return 0;
}

/** The cluster's API as `up` left it: the server and admin credentials in `<state>/kubeconfig`. */
function clusterApi(ctx: CommandContext): AddonsApi {
  if (!existsSync(ctx.paths.kubeconfig)) throw new CliError(`no kubeconfig yet: the API server of cluster "${ctx.cluster}" has not been started (run \`kubemu up\`)`);
  const kc = parse(readFileSync(ctx.paths.kubeconfig, "utf8")) as {
    clusters?: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
    users?: { name: string; user?: { "client-certificate-data"?: string; "client-key-data"?: string } }[];
  };
  const cluster = kc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (cluster === undefined) throw new CliError(`${ctx.paths.kubeconfig} has no cluster "${ctx.cluster}"`);
  const user = kc.users?.find((u) => u.name === ctx.cluster)?.user ?? {};
  const text = (b64: string | undefined) => (b64 ? Buffer.from(b64, "base64").toString("utf8") : undefined);
  const ca = text(cluster["certificate-authority-data"]);
  const cert = text(user["client-certificate-data"]);
  const key = text(user["client-key-data"]);
  const creds: KubeconfigCredentials | undefined = ca && cert && key ? { caCert: ca, clientCert: cert, clientKey: key } : undefined;
  return {
    create: (objects) => applyAddons(cluster.server, creds, objects, 15_000),
    replace: (objects) => replaceAddons(cluster.server, creds, objects),
    delete: (objects) => deleteAddons(cluster.server, creds, objects),
  };
}
