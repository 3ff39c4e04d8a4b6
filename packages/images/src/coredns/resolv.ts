/** The nameserver lines of a resolv.conf (what `forward . /etc/resolv.conf` reads). */
export function parseResolvNameservers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const [key, value] = raw.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (key === "nameserver" && value) out.push(value);
  }
  return out;
}
