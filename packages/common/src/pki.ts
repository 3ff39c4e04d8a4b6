/**
 * The cluster's certificates, as kubeadm/minikube lay them out: one CA that signs the API
 * servers' serving certificate and the client certificates users and components present.
 * Keys are EC P-256 (fast to generate at `up`); signatures SHA-256.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { generate } from "selfsigned";

type Extensions = NonNullable<NonNullable<Parameters<typeof generate>[1]>["extensions"]>;

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

/**
 * What a certificate is for: a TLS server (with the names it answers to) or a TLS client. A
 * server certificate with clientAuth is also a client one (an etcd peer certificate: both ends).
 */
export type CertificateUse =
  | { kind: "server"; dnsNames: string[]; ips: string[]; clientAuth?: boolean }
  | { kind: "client" };

/** Subject and use of a certificate to issue. */
export interface CertificateRequest {
  /** Subject CN; for a client certificate the API server reads it as the user name. */
  commonName: string;
  /** Subject O entries; for a client certificate the API server reads them as groups. */
  organizations?: string[];
  use: CertificateUse;
  /** Validity from `now`. */
  validDays: number;
}

const DAY_MS = 86_400_000;
/** extKeyUsage id-kp-clientAuth. */
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

/** Creates a self-signed CA certificate (CA:TRUE, keyCertSign) valid for validDays from now. */
export async function createCertificateAuthority(commonName: string, now: Date, validDays: number): Promise<KeyPair> {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + validDays * DAY_MS),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Issues a certificate signed by ca. */
export async function issueCertificate(ca: KeyPair, req: CertificateRequest, now: Date): Promise<KeyPair> {
  const subject = [{ name: "commonName", value: req.commonName }, ...(req.organizations ?? []).map((o) => ({ name: "organizationName", value: o }))];
  const use = req.use;
  const extensions: Extensions =
    use.kind === "server"
      ? [
          { name: "basicConstraints", cA: false, critical: true },
          { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
          { name: "extKeyUsage", serverAuth: true, ...(use.clientAuth ? { clientAuth: true } : {}) },
          { name: "subjectAltName", altNames: [...use.dnsNames.map((value) => ({ type: 2 as const, value })), ...use.ips.map((ip) => ({ type: 7 as const, ip }))] },
        ]
      : [
          { name: "basicConstraints", cA: false, critical: true },
          { name: "keyUsage", digitalSignature: true, critical: true },
          { name: "extKeyUsage", clientAuth: true },
        ];
  const pems = await generate(subject, {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + req.validDays * DAY_MS),
    ca: { key: ca.key, cert: ca.cert },
    extensions,
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * Why an existing certificate cannot be reused (undefined when it can): not signed by ca,
 * expiring within a day of now, or (for a server) missing one of the wanted names.
 */
export function certificateProblem(pair: KeyPair, ca: KeyPair, req: CertificateRequest, now: Date): string | undefined {
  let cert: X509Certificate;
  let caCert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
    caCert = new X509Certificate(ca.cert);
  } catch (e) {
    return `unreadable certificate: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return "not signed by the cluster CA";
  if (Date.parse(cert.validTo) - now.getTime() < DAY_MS) return `expires ${cert.validTo}`;
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return "the key does not match the certificate";
  } catch (e) {
    return `unreadable key: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (req.use.kind === "server") {
    const names = (cert.subjectAltName ?? "").split(", ");
    const missing = [...req.use.dnsNames.map((d) => `DNS:${d}`), ...req.use.ips.map((ip) => `IP Address:${ip}`)].filter((n) => !names.includes(n));
    if (missing.length > 0) return `does not name ${missing.join(", ")}`;
    if (req.use.clientAuth && !(cert.keyUsage ?? []).includes(CLIENT_AUTH_OID)) return "not usable as a client certificate";
  }
  return undefined;
}
