/** @kubemu/images: the image catalog (image references → programs) and the programs themselves. */
export {};
