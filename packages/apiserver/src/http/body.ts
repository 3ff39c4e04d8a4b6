/**
 * Reading and decoding request bodies: size limit (413), JSON, YAML (apply-patch+yaml and
 * application/yaml), and protobuf through the schema package's decoder.
 */
import type { IncomingMessage } from "node:http";
import { newBadRequest, newRequestEntityTooLarge, newStatus, StatusError } from "@kubemu/common";
import { parse as parseYaml } from "yaml";

/** Upstream's limit for a request body is 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw newRequestEntityTooLarge(`Request entity too large: limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw newRequestEntityTooLarge(`Request entity too large: limit is ${limit}`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The media type of a Content-Type header without parameters, lower-cased. */
export function mediaType(ct: string | undefined): string {
  return (ct ?? "").split(";")[0]!.trim().toLowerCase();
}

export function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch (e) {
    throw newBadRequest(`the request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function parseYamlBody(buf: Buffer): unknown {
  try {
    return parseYaml(buf.toString("utf8"), { maxAliasCount: 100 });
  } catch (e) {
    throw newBadRequest(`the request body is not valid YAML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
}

export type ProtobufDecoder = (bytes: Uint8Array) => unknown;

export function unsupportedMediaType(mt: string): StatusError {
  return new StatusError(newStatus("UnsupportedMediaType", `the body of the request was in an unknown format (${mt}) - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`, undefined, 415));
}

/** Decodes an object body (POST/PUT) by its Content-Type. */
export function decodeObjectBody(buf: Buffer, contentType: string | undefined, protobuf: ProtobufDecoder | undefined): unknown {
  const mt = mediaType(contentType);
  if (buf.length === 0) throw newBadRequest("the request body is empty");
  switch (mt) {
    case "":
    case "application/json":
      return parseJson(buf);
    case "application/yaml":
      return parseYamlBody(buf);
    case "application/vnd.kubernetes.protobuf":
      if (!protobuf) throw unsupportedMediaType(mt);
      try {
        return protobuf(buf);
      } catch (e) {
        if (e instanceof StatusError) throw e;
        throw newBadRequest(`the request body is not a valid protobuf object: ${e instanceof Error ? e.message : String(e)}`);
      }
    default:
      throw unsupportedMediaType(mt);
  }
}
