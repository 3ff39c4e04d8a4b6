/**
 * Whether an exec's command can start in the container, decided before it runs as runc decides
 * it (Go's exec.LookPath in the container's root): a name without a slash is searched on the
 * container's PATH, a path is checked itself. A command that cannot start is not a non-zero exit
 * upstream but an InternalError Status in containerd's words, which kubectl prints as
 * `error: Internal error occurred: error executing command in container: failed to exec in
 * container: failed to start exec "<id>": OCI runtime exec failed: exec failed: unable to start
 * container process: exec: "bash": executable file not found in $PATH: unknown` and exits 1
 * (what a learner sees running `bash` in an image that has only `sh`).
 */
import { randomBytes } from "node:crypto";
import { lstatSync, statSync } from "node:fs";
import { posix } from "node:path";

/**
 * Go's exec.LookPath for argv0 with the container's PATH, looking under root (the container's
 * /proc/<pid>/root, or "" for the host); undefined when it would be found, else runc's reason.
 */
export function lookPathError(argv0: string, path: string, root: string): string | undefined {
  const problem = (file: string): string | undefined => {
    const at = root + posix.resolve("/", file);
    try {
      const st = statSync(at);
      if (st.isDirectory()) return "is a directory";
      return st.mode & 0o111 ? undefined : "permission denied";
    } catch (e) {
      // A symlink whose absolute target is only meaningful inside the container: let it run.
      try {
        if (lstatSync(at).isSymbolicLink()) return undefined;
      } catch {
        // Not there at all.
      }
      return `stat ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`;
    }
  };
  if (argv0.includes("/")) {
    const why = problem(argv0);
    return why === undefined ? undefined : `exec: "${argv0}": ${why}`;
  }
  for (const dir of path.split(":")) if (problem(posix.join(dir === "" ? "." : dir, argv0)) === undefined) return undefined;
  return `exec: "${argv0}": executable file not found in $PATH`;
}

/** Upstream's apierrors.NewInternalError(fmt.Errorf("error executing command in container: %v", err)). */
export function execInternalError(cause: string): Record<string, unknown> {
  const err = `error executing command in container: ${cause}`;
  return { metadata: {}, status: "Failure", message: `Internal error occurred: ${err}`, reason: "InternalError", details: { causes: [{ message: err }] }, code: 500 };
}

/** containerd's words for an exec whose process could not start (its exec ID is random). */
export function startFailure(reason: string, execId: string = randomBytes(32).toString("hex")): string {
  return `failed to exec in container: failed to start exec "${execId}": OCI runtime exec failed: exec failed: unable to start container process: ${reason}: unknown`;
}
