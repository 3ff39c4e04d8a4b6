/**
 * Which addons are enabled, remembered in `<state>/addons.json` (minikube keeps this in the
 * profile's config.json): `{ "<name>": { "enabled": true, "config": { ... } } }`. An addon with no
 * entry has its registry default.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CliError } from "../errors.js";
import type { AddonDefinition } from "./registry.js";

export interface AddonState {
  enabled: boolean;
  /** The answers given on enable (e.g. metallb's start and end IP). */
  config?: Record<string, string>;
}

export type AddonsFile = Record<string, AddonState>;

export const addonsFile = (stateDir: string) => join(stateDir, "addons.json");

export function readAddonsFile(stateDir: string): AddonsFile {
  const file = addonsFile(stateDir);
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as AddonsFile;
  } catch (e) {
    throw new CliError(`${file} is not valid (${e instanceof Error ? e.message : String(e)}); remove it to reset the addons' state`);
  }
}

export function writeAddonsFile(stateDir: string, addons: AddonsFile): void {
  const file = addonsFile(stateDir);
  writeFileSync(`${file}.tmp`, JSON.stringify(addons, null, 2) + "\n");
  renameSync(`${file}.tmp`, file);
}

export function isEnabled(addon: AddonDefinition, file: AddonsFile): boolean {
  return file[addon.name]?.enabled ?? addon.enabledByDefault === true;
}
