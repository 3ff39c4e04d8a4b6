/**
 * The member's client and peer listeners: a WireServer on its own HTTP server, or HTTPS when the
 * listener has TLS files. With client-cert auth the TLS handshake itself refuses a connection
 * without a certificate from the trusted CA, so nothing unauthenticated reaches the wire protocol;
 * with an allowed CommonName (etcd's --peer-cert-allowed-cn) a certificate from that CA naming
 * anyone else (the API servers' store client, say) is cut off right after the handshake, before
 * a request is read.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { WireServer, WireTlsOptions } from "@kubemu/common";
import type { TlsFiles } from "./config.js";

export interface WireListener {
  /** ws://host:port or wss://host:port */
  url: string;
  close(): void;
}

/** What a connection to a TLS peer presents and trusts (the peer files are both sides' credentials). */
export function clientTlsOf(files: TlsFiles | undefined): WireTlsOptions | undefined {
  if (!files) return undefined;
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), ...(files.trustedCaFile ? { ca: readFileSync(files.trustedCaFile) } : {}) };
}

/** A connection refused for its certificate's CommonName: who, and the name it presented. */
export type CnRejection = (remote: string, commonName: string | undefined) => void;

export async function listenWire(wire: WireServer, addr: { host: string; port: number }, tls: TlsFiles | undefined, onCnRejected?: CnRejection): Promise<WireListener> {
  const answer = (_req: unknown, res: import("node:http").ServerResponse) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("this endpoint speaks kubemu-wire over WebSocket\n");
  };
  const server: HttpServer = tls
    ? createHttpsServer(
        {
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ...(tls.trustedCaFile ? { ca: readFileSync(tls.trustedCaFile) } : {}),
          requestCert: tls.clientCertAuth,
          rejectUnauthorized: tls.clientCertAuth,
        },
        answer,
      )
    : createHttpServer(answer);
  const allowedCn = tls?.allowedCn;
  if (allowedCn !== undefined)
    server.on("secureConnection", (socket: TLSSocket) => {
      const cn = socket.getPeerCertificate()?.subject?.CN;
      const name = Array.isArray(cn) ? cn[0] : cn;
      if (name === allowedCn) return;
      onCnRejected?.(`${socket.remoteAddress}:${socket.remotePort}`, name);
      socket.destroy();
    });
  wire.attach(server, { path: null });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("unexpected server address");
  return {
    url: `${tls ? "wss" : "ws"}://${bound.address}:${bound.port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
