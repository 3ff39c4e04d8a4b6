/**
 * Who is asking, as kube-apiserver's x509 authenticator decides it: over TLS a client
 * certificate signed by --client-ca-file names the user (CN) and groups (O); a certificate that
 * does not verify is 401; no credential is `system:anonymous`. A server with no TLS at all (plain
 * mode: test harnesses and benchmarks, `up --insecure-http`) cannot authenticate anyone, so every
 * request there acts as a member of system:masters — plain mode is for tests only and grants full
 * access. (The probe port beside TLS never gets here: it answers only the public paths.) What a
 * user may do is decided in ../auth/ (RBAC).
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { newStatus, StatusError } from "@kubemu/common";
import type { UserInfo } from "../auth/attributes.js";

export type { UserInfo } from "../auth/attributes.js";

export const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };
/** Everyone's identity on a server without TLS (plain mode, test-only; upstream's old insecure-port user). */
export const INSECURE_USER: UserInfo = { name: "system:unsecured", groups: ["system:masters", "system:authenticated"] };

/** The certificate identity of each TLS connection: fixed at the handshake, so read once per connection. */
const certificateUsers = new WeakMap<TLSSocket, UserInfo | null>();

/** The user a verified client certificate names; null without one; 401 for one that does not verify. */
function certificateUser(socket: TLSSocket): UserInfo | null {
  const known = certificateUsers.get(socket);
  if (known !== undefined) return known;
  const cert = socket.getPeerCertificate();
  let user: UserInfo | null = null;
  if (cert && Object.keys(cert).length > 0 && cert.subject) {
    if (socket.authorized !== true) throw unauthorized();
    const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const name = asList(cert.subject.CN)[0];
    if (!name) throw unauthorized();
    user = { name, groups: [...asList(cert.subject.O), "system:authenticated"] };
  }
  certificateUsers.set(socket, user);
  return user;
}

/** Authenticates bearer tokens (service account tokens). Rejects with any error; 401 follows. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<UserInfo>;
}

/**
 * The user behind req, or a 401 StatusError for a credential that does not verify. A bearer
 * token is checked by tokens (none configured: every token is 401).
 */
export async function authenticate(req: IncomingMessage, tokens?: TokenAuthenticator): Promise<UserInfo> {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== "function") return INSECURE_USER;
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
  const certUser = certificateUser(socket as TLSSocket);
  if (certUser) return certUser;
  if (bearer !== undefined) {
    if (!tokens) throw unauthorized();
    try {
      return await tokens.authenticate(bearer);
    } catch (e) {
      if (e instanceof StatusError && e.status.code >= 500) throw e; // the store is unavailable: not the client's fault
      throw unauthorized();
    }
  }
  if (req.headers.authorization !== undefined) throw unauthorized(); // basic auth and other schemes are not served
  return ANONYMOUS;
}

function unauthorized(): StatusError {
  return new StatusError(newStatus("Unauthorized", "Unauthorized"));
}
