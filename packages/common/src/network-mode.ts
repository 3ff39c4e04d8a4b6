/**
 * Which addresses a cluster's processes may use. Local mode (`kubemu up`, the default) keeps
 * every address in 127.0.0.0/8, so no traffic leaves the machine. In compose mode each process is
 * a container on the project's own Docker network, reached by its service name or container
 * address; docker-compose.yml (written by `kubemu compose`) sets KUBEMU_NETWORK=compose in every
 * container, and the loopback-only checks then accept those hosts.
 */
export const NETWORK_MODE_ENV = "KUBEMU_NETWORK";

/** True inside a compose-mode container. */
export function composeNetwork(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[NETWORK_MODE_ENV] === "compose";
}
