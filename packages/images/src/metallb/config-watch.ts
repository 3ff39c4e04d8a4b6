/**
 * What the controller and the speaker both do with the `config` ConfigMap: read it, notice a
 * change, and parse it, logging metallb 0.9's lines for a missing or unparsable config.
 */
import { parseConfig, type Config } from "./config.js";
import type { Api, ConfigMap } from "./types.js";

export class ConfigWatch {
  private text: string | undefined;

  constructor(private readonly o: { api: Api; namespace: string; configMapName: string; log: (msg: string) => void }) {}

  /** The new config when the ConfigMap changed to a usable one; undefined otherwise. */
  async poll(): Promise<Config | undefined> {
    let cm: ConfigMap | undefined;
    try {
      cm = await this.o.api.get<ConfigMap>(`/api/v1/namespaces/${this.o.namespace}/configmaps/${this.o.configMapName}`);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
    const text = cm?.data?.config;
    if (text === this.text) return undefined;
    this.text = text;
    if (cm === undefined) {
      this.o.log("setConfig: configuration is missing, MetalLB will not function: no MetalLB configuration in cluster");
      return undefined;
    }
    try {
      return parseConfig(text ?? "");
    } catch (e) {
      this.o.log(`configStale: config (re)load failed, config marked stale: ${(e as Error).message}`);
      return undefined;
    }
  }
}
