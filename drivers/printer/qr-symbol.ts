/**
 * The printer simulator's QR drawing, as a receipt printer's firmware does it at GS ( k
 * function 181: the stored bytes as a model 2 symbol in byte mode, the smallest version that
 * holds them at the chosen error correction level, each module a square of `moduleSize` dots,
 * with the 4-module quiet zone ISO/IEC 18004 asks for around it. `qrVersion` tells a job
 * builder (the scan to pay slip) the version a printer will choose, to size its modules.
 */
import { createRequire } from 'node:module';
import type QrCodeGenerator from 'qrcode-generator';
import type { MonoImage } from './escpos.js';

export type QrErrorLevel = 'L' | 'M' | 'Q' | 'H';

/** Light modules on each side of the symbol (ISO/IEC 18004 quiet zone). */
export const QR_QUIET_ZONE_MODULES = 4;

export interface QrSymbol {
  /** 1..40: the smallest that holds the data at the level. */
  version: number;
  /** The symbol with its quiet zone, `moduleSize` dots per module. */
  image: MonoImage;
}

/**
 * qrcode-generator is loaded at the first QR, not at start (as png.ts loads pngjs): only the
 * simulated printer and a QR payment's slip need it, and the daemon's boot should not pay for it.
 */
const requireCommonJs = createRequire(import.meta.url);
let qrcodeGenerator: typeof QrCodeGenerator | undefined;
function loadQrcodeGenerator(): typeof QrCodeGenerator {
  return (qrcodeGenerator ??= requireCommonJs('qrcode-generator') as typeof QrCodeGenerator);
}

/** The made symbol for `data`, or undefined when it does not fit a version 40 symbol at `errorLevel`. */
function makeSymbol(data: Buffer, errorLevel: QrErrorLevel): ReturnType<typeof QrCodeGenerator> | undefined {
  const qr = loadQrcodeGenerator()(0, errorLevel);
  // Byte mode with the library's default string-to-bytes (each char code & 0xff): a latin1
  // string carries the stored bytes unchanged, so UTF-8 from the host stays UTF-8 in the symbol.
  qr.addData(data.toString('latin1'), 'Byte');
  try {
    qr.make();
  } catch (error) {
    // The library throws a string when the data exceeds version 40's capacity.
    if (typeof error === 'string' && error.startsWith('code length overflow')) return undefined;
    throw error;
  }
  return qr;
}

/**
 * The version (1..40) a printer chooses for `data` in byte mode at `errorLevel`: the smallest
 * that holds it; undefined when none does. A job builder sizes its modules from it.
 */
export function qrVersion(data: Buffer, errorLevel: QrErrorLevel): number | undefined {
  const qr = makeSymbol(data, errorLevel);
  return qr && (qr.getModuleCount() - 17) / 4;
}

/**
 * Draws `data` (bytes as the printer stored them) as a QR symbol; undefined when it does not
 * fit a version 40 symbol at `errorLevel`, which a printer refuses to print.
 */
export function drawQrSymbol(
  data: Buffer,
  options: { moduleSize: number; errorLevel: QrErrorLevel },
): QrSymbol | undefined {
  const qr = makeSymbol(data, options.errorLevel);
  if (!qr) return undefined;
  const modules = qr.getModuleCount();
  const { moduleSize } = options;
  const side = (modules + 2 * QR_QUIET_ZONE_MODULES) * moduleSize;
  const pixels = new Uint8Array(side * side);
  for (let row = 0; row < modules; row++) {
    for (let col = 0; col < modules; col++) {
      if (!qr.isDark(row, col)) continue;
      const top = (row + QR_QUIET_ZONE_MODULES) * moduleSize;
      const left = (col + QR_QUIET_ZONE_MODULES) * moduleSize;
      for (let y = top; y < top + moduleSize; y++) pixels.fill(1, y * side + left, y * side + left + moduleSize);
    }
  }
  return { version: (modules - 17) / 4, image: { width: side, height: side, pixels } };
}
