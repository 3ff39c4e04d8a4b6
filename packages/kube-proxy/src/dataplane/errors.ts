/** Socket errors in Go's words, so events and logs read as upstream's ("listen tcp4 1.2.3.4:80: bind: address already in use"). */

const SYSCALL_TEXT: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EINVAL: "invalid argument",
  EMFILE: "too many open files",
};

export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

export function listenErrorText(protocol: "TCP" | "UDP", ip: string, port: number, e: unknown): string {
  const code = errnoCode(e);
  const text = code ? SYSCALL_TEXT[code] : undefined;
  const what = `listen ${protocol.toLowerCase()}4 ${ip}:${port}`;
  if (text) return `${what}: bind: ${text}`;
  return `${what}: ${e instanceof Error ? e.message : String(e)}`;
}
