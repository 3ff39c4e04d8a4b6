/** Building blocks of validation: field errors and the DNS name rules Kubernetes uses. */
import type { FieldError } from "../registry/types.js";

export const required = (field: string): FieldError => ({ reason: "FieldValueRequired", field, message: "Required value" });
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
});
export const notSupported = (field: string, value: unknown, allowed: string[]): FieldError => ({
  reason: "FieldValueNotSupported",
  field,
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(", ")}`,
});
export const duplicate = (field: string, value: unknown): FieldError => ({
  reason: "FieldValueDuplicate",
  field,
  message: `Duplicate value: ${JSON.stringify(value)}`,
});
export const forbidden = (field: string, detail: string): FieldError => ({ reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` });
export const tooLong = (field: string, max: number): FieldError => ({
  reason: "FieldValueTooLong",
  field,
  message: `Too long: may not be more than ${max} bytes`,
});

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Error detail strings exactly as apimachinery's validation package words them. */
export function dns1123Label(v: string): string | undefined {
  if (v.length > 63) return "must be no more than 63 characters";
  if (!DNS1123_LABEL.test(v))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  return undefined;
}

export function dns1123Subdomain(v: string): string | undefined {
  if (v.length > 253) return "must be no more than 253 characters";
  if (!DNS1123_SUBDOMAIN.test(v))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  return undefined;
}

export function dns1035Label(v: string): string | undefined {
  if (v.length > 63) return "must be no more than 63 characters";
  if (!DNS1035_LABEL.test(v))
    return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  return undefined;
}

/** Qualified names (label keys): optional DNS prefix + "/" + a 63-char name. */
export function qualifiedName(v: string): string | undefined {
  const slash = v.lastIndexOf("/");
  const prefix = slash === -1 ? "" : v.slice(0, slash);
  const name = slash === -1 ? v : v.slice(slash + 1);
  if (slash !== -1 && (prefix === "" || dns1123Subdomain(prefix))) return "prefix part " + (dns1123Subdomain(prefix) ?? "must be non-empty");
  if (name.length === 0 || name.length > 63 || !/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/.test(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v.length > 63) return "must be no more than 63 characters";
  if (!/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v))
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  return undefined;
}

/** Keys of ConfigMap/Secret data: [-._a-zA-Z0-9]+ */
export function configMapKey(v: string): string | undefined {
  if (v.length > 253) return "must be no more than 253 characters";
  if (!/^[-._a-zA-Z0-9]+$/.test(v)) return "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
  return undefined;
}
