/**
 * ESC/POS command builder. Every command goes through one raw seam, `raw()`
 * (as python-escpos' `_raw`), so tests assert exact bytes and a transport
 * receives exactly what was built. Text is word-wrapped to the profile's
 * columns divided by the current character width.
 */
import { PosError } from '../../config/errors.js';
import type { PrinterProfile } from './profiles.js';
import { encodeForCodePage } from './code-pages.js';
import type { QrErrorLevel } from './qr-symbol.js';

export const ESC = 0x1b;
export const GS = 0x1d;
export const DLE = 0x10;
export const LF = 0x0a;

export type Alignment = 'left' | 'center' | 'right';

/** A 1-bit image: `pixels[y * width + x]` is 1 for a black dot. */
export interface MonoImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** GS ( k function 169's n for each QR error correction level. */
const QR_ERROR_LEVEL_BYTES: Record<QrErrorLevel, number> = { L: 48, M: 49, Q: 50, H: 51 };

export class EscPosBuilder {
  private readonly chunks: Buffer[] = [];
  private widthMultiplier = 1;
  private page = 0;

  constructor(readonly profile: PrinterProfile) {}

  /** The one seam: every command ends here. */
  raw(bytes: Buffer | number[]): this {
    this.chunks.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
    return this;
  }

  /**
   * ESC @: reset modes to power-on defaults; then ESC t n when the profile carries the
   * configured code page, because ESC @ restores the page of the printer's memory
   * switch, which need not be the one the text is encoded for.
   */
  init(): this {
    this.widthMultiplier = 1;
    this.page = 0;
    this.raw([ESC, 0x40]);
    return this.profile.codePage === undefined ? this : this.codePage(this.profile.codePage);
  }

  /** ESC a n */
  align(alignment: Alignment): this {
    const n = { left: 0, center: 1, right: 2 }[alignment];
    if (n === undefined)
      throw new PosError(
        'CODPOS_USAGE_ESCPOS',
        `align: expected left, center or right, got ${JSON.stringify(alignment)}`,
      );
    return this.raw([ESC, 0x61, n]);
  }

  /** ESC E n */
  bold(on = true): this {
    return this.raw([ESC, 0x45, on ? 1 : 0]);
  }

  /** ESC - n (0 off, 1 thin, 2 thick) */
  underline(weight: 0 | 1 | 2 = 1): this {
    return this.raw([ESC, 0x2d, weight]);
  }

  /** GS ! n: character width and height multipliers 1..8. */
  size(width: number, height: number): this {
    for (const [name, value] of [
      ['width', width],
      ['height', height],
    ] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 8)
        throw new PosError('CODPOS_USAGE_ESCPOS', `size: ${name} must be 1..8, got ${value}`);
    }
    this.widthMultiplier = width;
    return this.raw([GS, 0x21, ((width - 1) << 4) | (height - 1)]);
  }

  doubleSize(on = true): this {
    return on ? this.size(2, 2) : this.size(1, 1);
  }

  /** ESC t n */
  codePage(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 255)
      throw new PosError('CODPOS_USAGE_ESCPOS', `codePage: expected 0..255, got ${n}`);
    this.page = n;
    return this.raw([ESC, 0x74, n]);
  }

  /** Text in the current code page; characters it cannot show become `?`. */
  text(text: string): this {
    return this.raw(encodeForCodePage(text, this.page));
  }

  /** Text and a line feed. */
  line(text = ''): this {
    return this.text(text).raw([LF]);
  }

  /** Word-wraps `text` to the paper width at the current character width, one line feed per line. */
  wrap(text: string): this {
    for (const line of wrapText(text, Math.max(1, Math.floor(this.profile.columns / this.widthMultiplier))))
      this.line(line);
    return this;
  }

  /** ESC d n: print and feed n lines. */
  feed(lines = 1): this {
    return this.raw([ESC, 0x64, Math.min(255, Math.max(0, lines))]);
  }

  /** CODE128 (code set B) with human-readable text below: GS h, GS w, GS H, GS k 73. */
  code128(data: string, options: { height?: number; moduleWidth?: number } = {}): this {
    if (data.length === 0 || data.length > 253 || /[^\x20-\x7e]/.test(data)) {
      throw new PosError('CODPOS_USAGE_ESCPOS', 'code128: data must be 1..253 printable ASCII characters');
    }
    const payload = Buffer.from('{B' + data, 'latin1');
    return this.raw([GS, 0x68, options.height ?? 80])
      .raw([GS, 0x77, options.moduleWidth ?? 2])
      .raw([GS, 0x48, 2])
      .raw([GS, 0x6b, 73, payload.length])
      .raw(payload);
  }

  /**
   * QR code, model 2: GS ( k functions 165 (model), 167 (module size, dots), 169 (error
   * correction level, M unless asked), 180 (store the UTF-8 bytes), 181 (print).
   */
  qr(data: string, options: { moduleSize?: number; errorLevel?: QrErrorLevel } = {}): this {
    const bytes = Buffer.from(data, 'utf8');
    if (bytes.length === 0 || bytes.length > 7089)
      throw new PosError('CODPOS_USAGE_ESCPOS', 'qr: data must be 1..7089 bytes');
    const moduleSize = options.moduleSize ?? 6;
    if (!Number.isInteger(moduleSize) || moduleSize < 1 || moduleSize > 16)
      throw new PosError('CODPOS_USAGE_ESCPOS', `qr: moduleSize must be 1..16 dots, got ${moduleSize}`);
    const errorLevel = options.errorLevel ?? 'M';
    const levelByte = QR_ERROR_LEVEL_BYTES[errorLevel];
    if (levelByte === undefined)
      throw new PosError(
        'CODPOS_USAGE_ESCPOS',
        `qr: errorLevel must be L, M, Q or H, got ${JSON.stringify(errorLevel)}`,
      );
    const store = bytes.length + 3;
    return this.raw([GS, 0x28, 0x6b, 4, 0, 0x31, 0x41, 0x32, 0x00])
      .raw([GS, 0x28, 0x6b, 3, 0, 0x31, 0x43, moduleSize])
      .raw([GS, 0x28, 0x6b, 3, 0, 0x31, 0x45, levelByte])
      .raw([GS, 0x28, 0x6b, store & 0xff, store >> 8, 0x31, 0x50, 0x30])
      .raw(bytes)
      .raw([GS, 0x28, 0x6b, 3, 0, 0x31, 0x51, 0x30]);
  }

  /** GS v 0: a raster bit image (a signature), at most the paper width. */
  raster(image: MonoImage): this {
    if (image.width < 1 || image.width > this.profile.dots) {
      throw new PosError(
        'CODPOS_USAGE_ESCPOS',
        `raster: width ${image.width} dots does not fit the ${this.profile.name} paper (${this.profile.dots} dots)`,
      );
    }
    if (image.pixels.length !== image.width * image.height)
      throw new PosError('CODPOS_USAGE_ESCPOS', 'raster: pixels must hold width * height values');
    const rowBytes = Math.ceil(image.width / 8);
    const data = Buffer.alloc(rowBytes * image.height);
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        if (image.pixels[y * image.width + x]) data[y * rowBytes + (x >> 3)]! |= 0x80 >> (x & 7);
      }
    }
    return this.raw([GS, 0x76, 0x30, 0, rowBytes & 0xff, rowBytes >> 8, image.height & 0xff, image.height >> 8]).raw(
      data,
    );
  }

  /** GS V 66 n: feed n dots past the cutter and cut (partial cut left to the model). */
  cut(feedDots = 0): this {
    return this.raw([GS, 0x56, 0x42, feedDots]);
  }

  build(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Greedy word wrap; words longer than a line are cut. */
export function wrapText(text: string, columns: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (let word of paragraph.split(/ +/)) {
      while (word.length > columns) {
        if (line) {
          lines.push(line);
          line = '';
        }
        lines.push(word.slice(0, columns));
        word = word.slice(columns);
      }
      if (!word) continue;
      if (!line) line = word;
      else if (line.length + 1 + word.length <= columns) line += ' ' + word;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** DLE EOT n: real-time status request (1 printer, 2 offline cause, 3 error cause, 4 paper sensor). */
export function statusRequest(n: 1 | 2 | 3 | 4): Buffer {
  return Buffer.from([DLE, 0x04, n]);
}
