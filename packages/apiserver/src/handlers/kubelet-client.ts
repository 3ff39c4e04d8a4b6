/**
 * How the API server reaches kubelets (upstream's --kubelet-client-certificate,
 * --kubelet-client-key, --kubelet-certificate-authority): with a client certificate, HTTPS to
 * :10250 presenting it, the kubelet's serving certificate checked against the CA when one is
 * given (upstream skips the check without --kubelet-certificate-authority); without one, plain
 * HTTP (test clusters whose kubelets serve plain HTTP). Requests and raw upgrade connections
 * both come from here, so logs, exec, attach and port-forward all dial the same way.
 */
import { connect as netConnect } from "node:net";
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import type { Duplex } from "node:stream";

export interface KubeletClientTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** Verifies the kubelet's serving certificate; without it any certificate is accepted (as upstream). */
  ca?: string | Buffer;
}

export interface KubeletClient {
  readonly scheme: "http" | "https";
  /** A connected socket to host:port (TLS handshake done), for an upgrade written by hand. */
  dial(host: string, port: number): Promise<Duplex>;
  request(options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest;
}

export function kubeletClient(tls: KubeletClientTls | undefined): KubeletClient {
  const secure = tls ? { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), rejectUnauthorized: tls.ca !== undefined } : undefined;
  return {
    scheme: secure ? "https" : "http",
    dial: (host, port) =>
      new Promise<Duplex>((resolve, reject) => {
        const socket = secure ? tlsConnect({ host, port, ...secure, ALPNProtocols: ["http/1.1"] }) : netConnect({ host, port });
        socket.once(secure ? "secureConnect" : "connect", () => {
          socket.off("error", reject);
          resolve(socket);
        });
        socket.once("error", reject);
      }),
    request: (options, onResponse) => (secure ? httpsRequest({ ...options, ...secure, agent: false }, onResponse) : httpRequest(options, onResponse)),
  };
}
