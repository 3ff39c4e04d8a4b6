import type { FaultRule, ProcessStatus } from "@kubemu/common";
import { errorMessage } from "./errors.js";

/**
 * Client side of the control contract every kubemu process serves on its control URL
 * (README "Control contract"): GET /kubemu/status, GET|PUT|DELETE /kubemu/faults.
 */

/** What GET /kubemu/status returns (the contract's type lives in @kubemu/common). */
export type ControlStatus = ProcessStatus;

/** The body of GET/PUT /kubemu/faults. */
export interface FaultRules {
  rules: FaultRule[];
}

/** A control request that failed: connection refused, timeout, or a non-2xx answer. */
export class ControlRequestError extends Error {
  override readonly name = "ControlRequestError";
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

async function request(baseUrl: string, method: string, path: string, timeoutMs: number, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${path}`, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === "TimeoutError") throw new ControlRequestError(`no answer from ${baseUrl} within ${timeoutMs} ms`);
    throw new ControlRequestError(`cannot reach ${baseUrl}: ${err.cause?.code ?? errorMessage(e)}`);
  }
  const text = await res.text();
  if (!res.ok) {
    // Kubernetes-style Status bodies carry a message; show it when present.
    let detail = text.slice(0, 200);
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === "string") detail = parsed.message;
    } catch {
      /* not JSON; keep the raw text */
    }
    throw new ControlRequestError(`${method} ${path} answered ${res.status}${detail ? `: ${detail}` : ""}`, res.status);
  }
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ControlRequestError(`${method} ${path} answered with non-JSON`);
  }
}

/** GET /kubemu/status. */
export async function getControlStatus(baseUrl: string, timeoutMs: number): Promise<ControlStatus> {
  const body = await request(baseUrl, "GET", "/kubemu/status", timeoutMs);
  if (typeof body !== "object" || body === null) throw new ControlRequestError("status answer is not an object");
  return body as ControlStatus;
}

/** GET /kubemu/faults. */
export async function getFaultRules(baseUrl: string, timeoutMs: number): Promise<FaultRule[]> {
  const body = (await request(baseUrl, "GET", "/kubemu/faults", timeoutMs)) as Partial<FaultRules> | undefined;
  if (body === undefined || !Array.isArray(body.rules)) throw new ControlRequestError("faults answer has no rules list");
  return body.rules;
}

/** PUT /kubemu/faults: replaces all of the process's rules. */
export async function putFaultRules(baseUrl: string, rules: FaultRule[], timeoutMs: number): Promise<void> {
  await request(baseUrl, "PUT", "/kubemu/faults", timeoutMs, { rules });
}

/** DELETE /kubemu/faults: clears all of the process's rules. */
export async function deleteFaultRules(baseUrl: string, timeoutMs: number): Promise<void> {
  await request(baseUrl, "DELETE", "/kubemu/faults", timeoutMs);
}
