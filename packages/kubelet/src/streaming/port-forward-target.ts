/**
 * The pod end of a forwarded port: where its ports are, and the text upstream's kubelet writes
 * on the error stream when the runtime cannot connect (containerd's shape; see port-forward.ts).
 */
/** Where a pod's ports are: its sandbox (pod UID here) and its IP. */
export interface PortForwardTarget {
  sandboxId: string;
  podIP: string;
}

/** Go's net error text for a failed dial (what containerd's message ends with). */
export function dialErrorText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case "ECONNREFUSED":
      return "connect: connection refused";
    case "EHOSTUNREACH":
      return "connect: no route to host";
    case "ENETUNREACH":
      return "connect: network is unreachable";
    case "ETIMEDOUT":
      return "i/o timeout";
    case "EADDRNOTAVAIL":
      return "connect: cannot assign requested address";
    default:
      return e.message;
  }
}

/** The text upstream's kubelet writes on the error stream when the runtime cannot connect. */
export function forwardErrorText(t: PortForwardTarget, port: number, e: NodeJS.ErrnoException): string {
  const inner = `failed to connect to ${t.podIP}:${port} inside namespace "${t.sandboxId}", IPv4: dial tcp4 ${t.podIP}:${port}: ${dialErrorText(e)}`;
  return `error forwarding port ${port} to pod ${t.sandboxId}, uid : failed to execute portforward in network namespace "host": ${inner}`;
}
