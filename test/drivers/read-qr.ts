/** Reads a printed QR symbol back as a phone would: jsqr over the simulator's 1-bit image. */
import jsqrModule, { type QRCode } from 'jsqr';
import type { MonoImage } from '../../drivers/printer/escpos.js';

// jsqr is CommonJS with `exports.default`: from an ES module its default import is the whole
// module object (to TypeScript's NodeNext rules), whose `default` is the function.
const jsQR = jsqrModule.default;

/** The decoded symbol (data, raw bytes, version), or null when jsqr finds none. */
export function readQr(image: MonoImage): QRCode | null {
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  for (let i = 0; i < image.pixels.length; i++) {
    const value = image.pixels[i] ? 0 : 255;
    rgba.fill(value, i * 4, i * 4 + 3);
    rgba[i * 4 + 3] = 255;
  }
  return jsQR(rgba, image.width, image.height, { inversionAttempts: 'dontInvert' });
}
