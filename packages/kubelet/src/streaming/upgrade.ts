/**
 * The HTTP side of the kubelet's streaming upgrades: plain SPDY/3.1 (`Upgrade: SPDY/3.1` with
 * `X-Stream-Protocol-Version` negotiation, as apimachinery's httpstream.Handshake) and the refusal
 * answers written on a socket that is not upgraded.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

const REASONS: Record<number, string> = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error" };

/** Answers an upgrade request with a plain-text error and closes the socket. */
export function refuse(socket: Duplex, code: number, message: string): void {
  socket.end(`HTTP/1.1 ${code} ${REASONS[code] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n\r\n${message}`);
}

export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? "").toLowerCase().startsWith("spdy/3");
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? "").toLowerCase() === "websocket";
}

/** The client's X-Stream-Protocol-Version offers, in its order (repeated headers and comma lists). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headersDistinct["x-stream-protocol-version"] ?? [];
  return raw.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
}

/**
 * Switches the connection to SPDY/3.1 with the first protocol the client offers that the server
 * serves, or refuses (403, upstream's words) and returns undefined. A client that offers none
 * gets the server's first (Kubernetes 1.0 clients did not negotiate).
 */
export function acceptSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, served: string[]): string | undefined {
  const offered = offeredProtocols(req);
  const chosen = offered.length === 0 ? served[0] : offered.find((p) => served.includes(p));
  if (chosen === undefined) {
    refuse(socket, 403, `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server accepts [${served.join(" ")}]`);
    return undefined;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${chosen}\r\n\r\n`);
  if (head.length) socket.unshift(head);
  return chosen;
}
