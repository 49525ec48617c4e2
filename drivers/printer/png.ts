/** A 1-bit raster image as a PNG (black on white), for the simulator's report of what it printed. */
import { PNG } from 'pngjs';
import type { MonoImage } from './escpos.js';

export function monoImageToPng(image: MonoImage): Buffer {
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
  const png = PNG.sync.read(data);
  const pixels = new Uint8Array(png.width * png.height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = png.data[i * 4]! < 128 ? 1 : 0;
  return { width: png.width, height: png.height, pixels };
}
