/**
 * TLS contexts for the HTTPS listener: the default ("fake") certificate ingress-nginx generates at
 * start (internal/net/ssl getFakeHostSSLCert: RSA 2048, O=Acme Co, CN=Kubernetes Ingress
 * Controller Fake Certificate, DNS ingress.local, one year), and one context per Secret, picked by
 * SNI through the routing table's host → certificate.
 */
import { createSecureContext, type SecureContext } from "node:tls";
import { generate } from "selfsigned";
import type { Certificate } from "./routing.js";

export async function fakeCertificate(now = new Date()): Promise<{ cert: string; key: string }> {
  const pems = await generate(
    [
      { name: "organizationName", value: "Acme Co" },
      { name: "commonName", value: "Kubernetes Ingress Controller Fake Certificate" },
    ],
    {
      keyType: "rsa",
      keySize: 2048,
      algorithm: "sha256",
      notBeforeDate: now,
      notAfterDate: new Date(now.getTime() + 365 * 86_400_000),
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", keyEncipherment: true, digitalSignature: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: [{ type: 2, value: "ingress.local" }] },
      ],
    },
  );
  return { cert: pems.cert, key: pems.private };
}

/** SecureContexts by Secret, rebuilt only when the PEMs change. */
export class ContextCache {
  private readonly bySecret = new Map<string, { pem: string; ctx: SecureContext }>();
  readonly fallback: SecureContext;

  constructor(fake: { cert: string; key: string }) {
    this.fallback = createSecureContext(fake);
  }

  /** The context for a certificate (undefined: the default certificate). A pair Node cannot load falls back too. */
  contextFor(c: Certificate | undefined, onError: (msg: string) => void): SecureContext {
    if (!c) return this.fallback;
    const pem = c.cert + c.key;
    const hit = this.bySecret.get(c.secret);
    if (hit && hit.pem === pem) return hit.ctx;
    try {
      const ctx = createSecureContext({ cert: c.cert, key: c.key });
      this.bySecret.set(c.secret, { pem, ctx });
      return ctx;
    } catch (e) {
      onError(`Error loading SSL certificate "${c.secret}": ${(e as Error).message}. Using default certificate`);
      return this.fallback;
    }
  }
}
