import { existsSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { FaultRule, ProcessStatus } from "@kubemu/common";
import { errorMessage } from "./errors.js";
import { pkiPaths } from "./pki.js";

/**
 * Client side of the control contract every kubemu process serves on its control URL
 * (README "Control contract"): GET /kubemu/status, GET|PUT|DELETE /kubemu/faults. An https://
 * control URL (the API servers' HTTPS port) is reached with the cluster CA and the admin's
 * client certificate (controlTls).
 */

/**
 * The launcher's control credentials: the cluster CA and the admin's client certificate for
 * https:// control URLs (the API servers), and the control token (`<pki>/control-token`) sent as
 * a bearer token to the plain http:// ones (every other process, which `up` points at that file).
 */
export interface ControlTls {
  ca: string;
  cert: string;
  key: string;
  token?: string | undefined;
}

/** The admin credentials in a state dir's pki (undefined when there is none: plain clusters, spec files without TLS). */
export function controlTls(pkiDir: string): ControlTls | undefined {
  const p = pkiPaths(pkiDir);
  if (![p.caCert, p.adminCert, p.adminKey].every((f) => existsSync(f))) return undefined;
  const token = existsSync(p.controlToken) ? readFileSync(p.controlToken, "utf8").trim() : undefined;
  return { ca: readFileSync(p.caCert, "utf8"), cert: readFileSync(p.adminCert, "utf8"), key: readFileSync(p.adminKey, "utf8"), token };
}

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

interface Answer {
  status: number;
  text: string;
}

function send(url: URL, method: string, timeoutMs: number, tls: ControlTls | undefined, body: string | undefined): Promise<Answer> {
  const https = url.protocol === "https:";
  const request = https ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        timeout: timeoutMs,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          // The token goes to the plain loopback control URLs only; the API servers' https:// ones take the admin certificate.
          ...(!https && tls?.token ? { authorization: `Bearer ${tls.token}` } : {}),
        },
        ...(https && tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { name: "TimeoutError" })));
    req.on("error", reject);
    req.end(body);
  });
}

async function request(baseUrl: string, method: string, path: string, timeoutMs: number, tls: ControlTls | undefined, body?: unknown): Promise<unknown> {
  let res: Answer;
  try {
    res = await send(new URL(`${baseUrl}${path}`), method, timeoutMs, tls, body !== undefined ? JSON.stringify(body) : undefined);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.name === "TimeoutError") throw new ControlRequestError(`no answer from ${baseUrl} within ${timeoutMs} ms`);
    throw new ControlRequestError(`cannot reach ${baseUrl}: ${err.code ?? errorMessage(e)}`);
  }
  const text = res.text;
  if (res.status < 200 || res.status > 299) {
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
export async function getControlStatus(baseUrl: string, timeoutMs: number, tls?: ControlTls): Promise<ControlStatus> {
  const body = await request(baseUrl, "GET", "/kubemu/status", timeoutMs, tls);
  if (typeof body !== "object" || body === null) throw new ControlRequestError("status answer is not an object");
  return body as ControlStatus;
}

/** GET /kubemu/faults. */
export async function getFaultRules(baseUrl: string, timeoutMs: number, tls?: ControlTls): Promise<FaultRule[]> {
  const body = (await request(baseUrl, "GET", "/kubemu/faults", timeoutMs, tls)) as Partial<FaultRules> | undefined;
  if (body === undefined || !Array.isArray(body.rules)) throw new ControlRequestError("faults answer has no rules list");
  return body.rules;
}

/** PUT /kubemu/faults: replaces all of the process's rules. */
export async function putFaultRules(baseUrl: string, rules: FaultRule[], timeoutMs: number, tls?: ControlTls): Promise<void> {
  await request(baseUrl, "PUT", "/kubemu/faults", timeoutMs, tls, { rules });
}

/** DELETE /kubemu/faults: clears all of the process's rules. */
export async function deleteFaultRules(baseUrl: string, timeoutMs: number, tls?: ControlTls): Promise<void> {
  await request(baseUrl, "DELETE", "/kubemu/faults", timeoutMs, tls);
}
