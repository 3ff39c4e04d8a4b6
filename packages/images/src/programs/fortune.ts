/**
 * luksa/fortune (Kubernetes in Action): writes a fortune to /var/htdocs/index.html every
 * interval — 10 s for `latest`, $INTERVAL for `:env`, the first argument for `:args` — logging
 * each write as the image's fortuneloop.sh does. argv: <variant> [interval].
 */
import { mkdirSync, writeFileSync } from "node:fs";

const FORTUNES = [
  "A journey of a thousand miles begins with a single commit.",
  "You will be successful in your work; the pod, however, will be rescheduled.",
  "Today is a good day to read the logs.",
  "Beware of the idle process: it is waiting for something.",
  "Every replica has its reason.",
  "The best time to write a test was yesterday. The second best time is now.",
  "A watched pod never becomes Ready.",
  "Simplicity is prerequisite for reliability.",
  "Your lucky numbers are 6443, 10250 and 2379.",
  "Do not fear the restart; fear the crash loop.",
];

const variant = process.argv[2] ?? "latest";
const raw = variant === "env" ? process.env.INTERVAL : variant === "args" ? process.argv[3] : "10";
const interval = Number(raw ?? "10");
const DIR = "/var/htdocs";
process.stdout.write(`Configured to generate new fortune every ${raw ?? ""} seconds\n`);
mkdirSync(DIR, { recursive: true });
let i = Math.floor(Math.random() * FORTUNES.length);
const write = () => {
  process.stdout.write(`${new Date().toUTCString().replace(/GMT$/, "UTC")} Writing fortune to ${DIR}/index.html\n`);
  writeFileSync(`${DIR}/index.html`, `${FORTUNES[i++ % FORTUNES.length]}\n`);
};
write();
setInterval(write, (Number.isFinite(interval) && interval > 0 ? interval : 10) * 1000);
// The script traps SIGINT only: SIGTERM as PID 1 is ignored until the grace period ends.
process.on("SIGINT", () => process.exit(0));
