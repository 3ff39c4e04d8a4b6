/**
 * Protobuf request bodies (`application/vnd.kubernetes.protobuf`), as kubectl 1.32's typed clients
 * send them (`kubectl create configmap|secret|deployment|namespace|service|job`, `auth can-i`,
 * `create token`). Decoding only: replies stay JSON.
 */
export { decodeProtobufBody, isProtobufContentType, type DecodedObject } from "./decode.js";
