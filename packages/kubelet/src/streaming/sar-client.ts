/**
 * The I/O edge of the kubelet's webhook authorization: POSTs a SubjectAccessReview to
 * /apis/authorization.k8s.io/v1/subjectaccessreviews on the first API server that answers, over
 * HTTPS with the kubelet's own client certificate (system:node:<node>, which the Node authorizer
 * lets create reviews, as upstream's NodeRules).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ReviewAnswer, SubjectAccessReviewer } from "./sar-authorizer.js";

const PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

export interface ReviewTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

function post(url: string, tls: ReviewTls | undefined, body: string, timeoutMs: number): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith("https:");
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, timeout: timeoutMs, ...(secure && tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}) } as never,
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** A reviewer over the API servers' HTTP(S) bases (`https://127.0.20.1:6443`). */
export function httpSubjectAccessReviewer(bases: readonly string[], tls: ReviewTls | undefined, timeoutMs = 5000): SubjectAccessReviewer {
  return async (review) => {
    const body = JSON.stringify(review);
    let last: unknown = new Error("no API server to ask");
    for (const base of bases) {
      try {
        const answer = await post(`${base}${PATH}`, tls, body, timeoutMs);
        const parsed = JSON.parse(answer.text) as { status?: { allowed?: unknown; reason?: unknown }; message?: string };
        if (answer.code !== 200 && answer.code !== 201) throw new Error(parsed.message ?? `SubjectAccessReview answered ${answer.code}`);
        const out: ReviewAnswer = { allowed: parsed.status?.allowed === true };
        if (typeof parsed.status?.reason === "string" && parsed.status.reason !== "") out.reason = parsed.status.reason;
        return out;
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  };
}
