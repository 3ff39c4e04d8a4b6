import { createServer } from "node:net";
import { CliError } from "./errors.js";
import { parseHostPort } from "./spec.js";

/** Tries to listen on host:port and closes at once; resolves to the error code if it cannot. */
export function probeBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** An address that a process wants and cannot have. */
export interface BusyAddress {
  process: string;
  role: string;
  address: string;
  code: string;
}

/** Checks every listed address is bindable; returns the ones that are not. */
export async function findBusyAddresses(wanted: { process: string; addresses: Record<string, string> }[]): Promise<BusyAddress[]> {
  const checks = wanted.flatMap((w) =>
    Object.entries(w.addresses).map(async ([role, address]) => {
      const { host, port } = parseHostPort(address, `${w.process}.addresses.${role}`);
      const code = await probeBind(host, port);
      return code === undefined ? undefined : { process: w.process, role, address, code };
    }),
  );
  return (await Promise.all(checks)).filter((b): b is BusyAddress => b !== undefined);
}

/** One line naming every busy address, e.g. `127.0.10.1:2379 (etcd-0 client) is already in use`. */
export function busyAddressMessage(busy: BusyAddress[]): string {
  const parts = busy.map((b) => `${b.address} (${b.process} ${b.role})${b.code === "EADDRINUSE" ? "" : ` [${b.code}]`}`);
  const verb = busy.every((b) => b.code === "EADDRINUSE") ? "already in use" : "not bindable";
  return `${parts.join(", ")} ${busy.length === 1 ? "is" : "are"} ${verb}; stop whatever holds ${busy.length === 1 ? "it" : "them"} (or \`kubemu down\` another cluster) and retry`;
}

/** Throws a CliError if any address is busy. */
export async function assertAddressesFree(wanted: { process: string; addresses: Record<string, string> }[]): Promise<void> {
  const busy = await findBusyAddresses(wanted);
  if (busy.length > 0) throw new CliError(busyAddressMessage(busy));
}

/** Asks the kernel for a free port on host (listen on port 0, read it, close). */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}
