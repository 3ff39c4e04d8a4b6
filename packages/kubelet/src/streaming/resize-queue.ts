/**
 * A terminal's resizes applied one at a time, in the order the client sent them. Each resize is
 * an `stty` process; started side by side they finish in any order under load, and kubectl's
 * bursts (size+1 then the size when it attaches, one per SIGWINCH while a window is dragged)
 * would leave the terminal at whichever finished last instead of the size sent last.
 */
import { spawn } from "node:child_process";
import type { TerminalSize } from "./channels.js";

export class ResizeQueue {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly apply: (size: TerminalSize) => Promise<void>) {}

  push(size: TerminalSize): void {
    this.chain = this.chain.then(() => this.apply(size)).catch(() => undefined);
  }

  /** Resolves once every resize pushed so far has been applied. */
  settled(): Promise<void> {
    return this.chain;
  }
}

/** `stty -F <tty> rows H cols W`; resolves when it has run (or could not start). */
export function sttyResize(tty: string, size: TerminalSize): Promise<void> {
  return new Promise((resolve) => {
    spawn("stty", ["-F", tty, "rows", String(size.height), "cols", String(size.width)], { stdio: "ignore" })
      .on("error", () => resolve())
      .on("close", () => resolve());
  });
}
