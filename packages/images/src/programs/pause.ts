/** registry.k8s.io/pause: does nothing until SIGINT or SIGTERM, then exits 0 (as the real pause binary). */
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    process.stderr.write(`Shutting down, got signal: ${sig === "SIGINT" ? "Interrupt" : "Terminated"}\n`);
    process.exit(0);
  });
}
setInterval(() => {}, 1 << 30);
