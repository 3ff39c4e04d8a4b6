/** exec's check that its command can start (streaming/exec-lookup.ts), and the Status runExec answers with when it cannot. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execInternalError, lookPathError, startFailure } from "../src/streaming/exec-lookup.js";
import type { RemoteCommandStreams } from "../src/streaming/channels.js";
import { runExec } from "../src/streaming/exec.js";
import { OutputBudget } from "../src/streaming/output-budget.js";

const root = mkdtempSync(join(tmpdir(), "kubemu-lookpath-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "bin"));
mkdirSync(join(root, "etc"));
writeFileSync(join(root, "bin", "sh"), "#!/bin/true\n");
chmodSync(join(root, "bin", "sh"), 0o755);
writeFileSync(join(root, "etc", "passwd"), "root:x:0:0\n");

describe("lookPathError (Go's exec.LookPath in the container's root)", () => {
  it("finds names on PATH and executable paths; otherwise runc's reasons", () => {
    expect(lookPathError("sh", "/usr/bin:/bin", root)).toBeUndefined();
    expect(lookPathError("/bin/sh", "", root)).toBeUndefined();
    expect(lookPathError("bash", "/usr/bin:/bin", root)).toBe('exec: "bash": executable file not found in $PATH');
    expect(lookPathError("passwd", "/etc", root)).toBe('exec: "passwd": executable file not found in $PATH');
    expect(lookPathError("/etc/passwd", "/bin", root)).toBe('exec: "/etc/passwd": permission denied');
    expect(lookPathError("/etc", "/bin", root)).toBe('exec: "/etc": is a directory');
    expect(lookPathError("/nope", "/bin", root)).toBe('exec: "/nope": stat /nope: no such file or directory');
  });

  it("the Status in containerd's and upstream's words", () => {
    const status = execInternalError(startFailure('exec: "bash": executable file not found in $PATH', "ab12"));
    expect(status).toEqual({
      metadata: {},
      status: "Failure",
      message: 'Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "ab12": OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": executable file not found in $PATH: unknown',
      reason: "InternalError",
      details: { causes: [{ message: 'error executing command in container: failed to exec in container: failed to start exec "ab12": OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": executable file not found in $PATH: unknown' }] },
      code: 500,
    });
    expect(startFailure("x")).toMatch(/failed to start exec "[0-9a-f]{64}"/);
  });

  it("runExec answers a command that cannot start with that Status and starts nothing", () => {
    let status: Record<string, unknown> | undefined;
    const streams: RemoteCommandStreams = {
      onStdin: () => undefined,
      onStdinClose: () => undefined,
      onResize: () => undefined,
      onClose: () => undefined,
      stdout: () => true,
      stderr: () => true,
      onDrain: () => undefined,
      output: new OutputBudget(),
      finish: (s) => (status = s),
    };
    runExec(streams, ["kubemu-no-such-command"], { pid: undefined, env: { PATH: join(root, "bin") } }, { stdin: false, stdout: true, stderr: true, tty: false });
    expect(status).toMatchObject({ reason: "InternalError", code: 500 });
    expect(String(status!["message"])).toMatch(/unable to start container process: exec: "kubemu-no-such-command": executable file not found in \$PATH: unknown$/);
  });
});
