/** The client API shared by server and client: method names, param/result types, error mapping. */
export * from "./methods.js";
export * from "./errors.js";
export * from "./validate.js";
