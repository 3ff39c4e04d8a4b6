/**
 * The addons `kubemu addons list|enable|disable` knows (minikube's `addons` command). An addon is a
 * list of objects the CLI creates through the API server on enable and deletes on disable; its
 * enabled state is kept in `<state>/addons.json` (see ./state.ts).
 *
 * To add one: write a function returning its `Addon[]` (objects in creation order, namespace
 * first) and add one entry to `addonRegistry` below. `questions` are asked on enable (minikube's
 * `-- Enter ...:` prompts) when stdin is a terminal; otherwise the flag's value or the default is
 * used. Each question's flag becomes an option of `kubemu addons enable`.
 */
import { isIPv4 } from "node:net";
import type { Addon } from "./local-path-storage.js";
import { localPathStorage } from "./local-path-storage.js";
import { METALLB_CONTROLLER_IMAGE, METALLB_DEFAULT_END_IP, METALLB_DEFAULT_START_IP, METALLB_SPEAKER_IMAGE, metallb } from "./metallb.js";
import { INGRESS_NGINX_CONTROLLER_IMAGE, ingressNginx } from "./ingress-nginx.js";

/** What an addon's objects may depend on. */
export interface AddonContext {
  /** The answers to the addon's questions, by key (defaults filled in). */
  config: Record<string, string>;
}

/** One value asked for on enable. */
export interface AddonQuestion {
  key: string;
  /** The enable option that answers it without a prompt, e.g. "--start-ip". */
  flag: string;
  /** minikube's prompt text, e.g. "-- Enter Load Balancer Start IP: ". */
  prompt: string;
  default: string;
  /** Why the value is refused, or undefined when it is fine. */
  check(value: string): string | undefined;
}

export interface AddonDefinition {
  name: string;
  /** minikube's MAINTAINER column ("Kubernetes", "3rd party (MetalLB)", ...). */
  maintainer: string;
  /** `kubemu up` creates it, so it is enabled unless disabled. */
  enabledByDefault?: boolean;
  /** Printed as minikube's "▪ Using image ..." lines on enable. */
  images: string[];
  questions?: AddonQuestion[];
  objects(ctx: AddonContext): Addon[];
}

const ipv4 = (v: string) => (isIPv4(v) ? undefined : `"${v}" is not an IPv4 address`);

export const addonRegistry: AddonDefinition[] = [
  {
    // kind's local-path storage (rancher's provisioner and the default class `standard`).
    name: "local-path-storage",
    maintainer: "3rd party (Rancher)",
    enabledByDefault: true,
    images: ["docker.io/kindest/local-path-provisioner:v20240813-c6f155d6"],
    objects: () => localPathStorage(),
  },
  {
    name: "metallb",
    maintainer: "3rd party (MetalLB)",
    images: [METALLB_SPEAKER_IMAGE, METALLB_CONTROLLER_IMAGE],
    questions: [
      { key: "startIP", flag: "--start-ip", prompt: "-- Enter Load Balancer Start IP: ", default: METALLB_DEFAULT_START_IP, check: ipv4 },
      { key: "endIP", flag: "--end-ip", prompt: "-- Enter Load Balancer End IP: ", default: METALLB_DEFAULT_END_IP, check: ipv4 },
    ],
    objects: (ctx) => metallb({ startIP: ctx.config.startIP!, endIP: ctx.config.endIP! }),
  },
  {
    // minikube's ingress addon: the ingress-nginx controller (hostPorts 80/443 on the primary node) and the default IngressClass nginx.
    name: "ingress",
    maintainer: "Kubernetes",
    images: [INGRESS_NGINX_CONTROLLER_IMAGE],
    objects: () => ingressNginx(),
  },
];

/** The addon named `name`, if any. */
export function findAddon(name: string, registry: readonly AddonDefinition[] = addonRegistry): AddonDefinition | undefined {
  return registry.find((a) => a.name === name);
}
