/** @kubemu/images: the image catalog (image references → programs) and the programs themselves. */
export * from "./reference.js";
export * from "./catalog.js";
export { builtinImages } from "./builtin.js";
