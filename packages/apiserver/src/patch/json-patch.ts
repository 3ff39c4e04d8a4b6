/** RFC 6902 JSON Patch (application/json-patch+json). Errors are BadRequest/Invalid StatusErrors. */
import { newBadRequest, newStatus, StatusError } from "@kubemu/common";

type Json = unknown;

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function unprocessable(message: string): StatusError {
  return new StatusError(newStatus("Invalid", message, undefined, 422));
}

/** "/a/b~1c" → ["a", "b/c"] */
function parsePointer(p: unknown): string[] {
  if (typeof p !== "string") throw newBadRequest(`json patch path must be a string`);
  if (p === "") return [];
  if (!p.startsWith("/")) throw unprocessable(`json patch path "${p}" must start with "/"`);
  return p
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function container(doc: Json, path: string[], what: string): { parent: any; key: string } {
  let cur: any = doc;
  for (const seg of path.slice(0, -1)) {
    if (cur === null || typeof cur !== "object") throw unprocessable(`doc is missing path: "${what}": missing value`);
    cur = Array.isArray(cur) ? cur[Number(seg)] : cur[seg];
  }
  if (cur === null || typeof cur !== "object") throw unprocessable(`doc is missing path: "${what}": missing value`);
  return { parent: cur, key: path[path.length - 1]! };
}

function arrayIndex(arr: unknown[], key: string, forInsert: boolean, path: string): number {
  if (forInsert && key === "-") return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw unprocessable(`Unable to access invalid index: ${key} at "${path}"`);
  const i = Number(key);
  if (i > arr.length || (!forInsert && i >= arr.length)) throw unprocessable(`Unable to access invalid index: ${i} at "${path}"`);
  return i;
}

function getAt(doc: Json, path: string[], raw: string): Json {
  let cur: any = doc;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") throw unprocessable(`doc is missing path: "${raw}": missing value`);
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, seg, false, raw)];
    else {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) throw unprocessable(`doc is missing path: "${raw}": missing value`);
      cur = cur[seg];
    }
  }
  return cur;
}

function remove(doc: Json, path: string[], raw: string): Json {
  if (path.length === 0) throw unprocessable(`cannot remove the document root`);
  const { parent, key } = container(doc, path, raw);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, raw), 1)[0];
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw unprocessable(`Unable to remove nonexistent key: ${key}: missing value`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function add(doc: Json, path: string[], value: Json, raw: string): Json {
  if (path.length === 0) return value;
  const { parent, key } = container(doc, path, raw);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, raw), 0, value);
  else parent[key] = value;
  return doc;
}

function equal(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Applies a JSON patch to a deep copy of doc and returns it. */
export function applyJsonPatch(doc: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw newBadRequest("json patch must be a JSON array of operations");
  let out: Json = structuredClone(doc);
  for (const raw of patch as Op[]) {
    if (raw === null || typeof raw !== "object") throw newBadRequest("json patch operation must be an object");
    const path = parsePointer(raw.path);
    switch (raw.op) {
      case "add":
        if (!("value" in raw)) throw newBadRequest(`json patch add operation is missing "value"`);
        out = add(out, path, structuredClone(raw.value), raw.path);
        break;
      case "remove":
        remove(out, path, raw.path);
        break;
      case "replace":
        if (!("value" in raw)) throw newBadRequest(`json patch replace operation is missing "value"`);
        if (path.length === 0) out = structuredClone(raw.value);
        else {
          getAt(out, path, raw.path);
          const { parent, key } = container(out, path, raw.path);
          if (Array.isArray(parent)) parent[arrayIndex(parent, key, false, raw.path)] = structuredClone(raw.value);
          else parent[key] = structuredClone(raw.value);
        }
        break;
      case "move": {
        const from = parsePointer(raw.from);
        const v = remove(out, from, String(raw.from));
        out = add(out, path, v, raw.path);
        break;
      }
      case "copy": {
        const v = structuredClone(getAt(out, parsePointer(raw.from), String(raw.from)));
        out = add(out, path, v, raw.path);
        break;
      }
      case "test":
        if (!equal(getAt(out, path, raw.path), raw.value)) throw unprocessable(`testing value ${raw.path} failed: test failed`);
        break;
      default:
        throw newBadRequest(`Unexpected kind: ${String(raw.op)}`);
    }
  }
  return out;
}
