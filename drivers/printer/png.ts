/** A 1-bit raster image as a PNG (black on white), for the simulator's report of what it printed. */
import { createRequire } from 'node:module';
import type * as Pngjs from 'pngjs';
import type { MonoImage } from './escpos.js';

/**
 * pngjs is loaded at the first image, not at start: only a signed delivery or the simulated
 * printer's pictures need it, and the daemon's boot should not pay for it (a CommonJS package,
 * so it can be required lazily and synchronously).
 */
const requireCommonJs = createRequire(import.meta.url);
let pngjs: typeof Pngjs | undefined;
function loadPngjs(): typeof Pngjs {
  return (pngjs ??= requireCommonJs('pngjs') as typeof Pngjs);
}

export function monoImageToPng(image: MonoImage): Buffer {
  const { PNG } = loadPngjs();
  const png = new PNG({ width: image.width, height: image.height });
  for (let i = 0; i < image.width * image.height; i++) {
    const value = image.pixels[i] ? 0 : 255;
    png.data[i * 4] = value;
    png.data[i * 4 + 1] = value;
    png.data[i * 4 + 2] = value;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

export function pngToMonoImage(data: Buffer): MonoImage {
  const png = loadPngjs().PNG.sync.read(data);
  const pixels = new Uint8Array(png.width * png.height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = png.data[i * 4]! < 128 ? 1 : 0;
  return { width: png.width, height: png.height, pixels };
}
