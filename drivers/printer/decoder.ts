/**
 * Streaming ESC/POS decoder for the printer simulator: turns the bytes a
 * driver sends back into printed text lines (split into pages at each cut),
 * barcode/QR marks, and 1-bit raster images; unknown commands are recorded
 * with their offset, never silently dropped. A QR symbol (GS ( k) is drawn as the
 * printer's firmware would (qr-symbol.ts) into an image beside its `[QR data]` mark. Split-safe: a command cut across
 * chunks waits for its remaining bytes. DLE EOT requests are handed to
 * `onStatusRequest` in stream order.
 */
import type { MonoImage } from './escpos.js';
import { drawQrSymbol, type QrErrorLevel } from './qr-symbol.js';

export interface UnknownCommand {
  offset: number;
  bytes: string;
  /** Why a known command was refused (a QR print with nothing to print, a value out of range). */
  reason?: string;
}

export interface DecoderOptions {
  /** The paper's printable width: a QR symbol wider than this is refused, as a printer does. */
  paperDots?: number;
}

/** GS ( k QR Code settings (Epson functions 165, 167, 169) and the symbol storage area (180). */
interface QrState {
  /** 49 model 1, 50 model 2, 51 micro QR. */
  model: number;
  moduleSize: number;
  errorLevel: QrErrorLevel;
  data: Buffer | undefined;
}

/** Power-on values in Epson's reference: model 2, 3-dot modules, level L, nothing stored. */
function powerOnQrState(): QrState {
  return { model: 50, moduleSize: 3, errorLevel: 'L', data: undefined };
}

const QR_ERROR_LEVELS: Record<number, QrErrorLevel> = { 48: 'L', 49: 'M', 50: 'Q', 51: 'H' };

export interface DecoderHooks {
  onStatusRequest?: (n: number) => void;
  /** Called after each printed line; returning false pauses decoding (paper ran out). */
  onLine?: (line: string) => boolean | void;
  /** Called with each page when it is cut. */
  onPage?: (page: string[]) => void;
}

const NEED_MORE = -1;

export class EscPosDecoder {
  /** Pages of printed lines; a cut closes the current page. */
  readonly pages: string[][] = [];
  readonly images: MonoImage[] = [];
  readonly unknown: UnknownCommand[] = [];
  private page: string[] = [];
  private line = '';
  private pending: Buffer = Buffer.alloc(0);
  private consumed = 0;
  private codePage = 0;
  private qr: QrState = powerOnQrState();
  paused = false;

  constructor(
    private readonly hooks: DecoderHooks = {},
    private readonly options: DecoderOptions = {},
  ) {}

  /** Lines printed on the page not yet cut. */
  get currentPage(): string[] {
    return this.page;
  }

  /** Everything printed, pages and the uncut page, as lines. */
  get allLines(): string[] {
    return [...this.pages.flat(), ...this.page];
  }

  get pendingBytes(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    this.run();
  }

  resume(): void {
    this.paused = false;
    this.run();
  }

  private run(): void {
    let at = 0;
    while (at < this.pending.length && !this.paused) {
      const used = this.command(this.pending, at);
      if (used === NEED_MORE) break;
      at += used;
    }
    this.consumed += at;
    this.pending = this.pending.subarray(at);
  }

  /** Decodes the command at `at`; returns the bytes it used or NEED_MORE. */
  private command(buf: Buffer, at: number): number {
    const b = buf[at]!;
    const left = buf.length - at;
    const need = (n: number) => (left >= n ? n : NEED_MORE);
    if (b === 0x0a) {
      this.endLine();
      return 1;
    }
    if (b === 0x0d) return 1;
    if (b === 0x09) {
      this.line += ' ';
      return 1;
    }
    if (b >= 0x20 && b !== 0x7f) {
      this.line += this.codePage === 16 || b < 0x80 ? String.fromCharCode(b) : '?';
      return 1;
    }
    if (b === 0x10) {
      if (left < 3) return NEED_MORE;
      if (buf[at + 1] === 0x04) {
        this.hooks.onStatusRequest?.(buf[at + 2]!);
        return 3;
      }
      return this.unknownCommand(buf, at, 2);
    }
    if (b === 0x1b) {
      if (left < 2) return NEED_MORE;
      const c = buf[at + 1]!;
      if (c === 0x40) {
        // ESC @ also clears the QR settings and the symbol storage area (Epson's GS ( k notes).
        this.qr = powerOnQrState();
        return 2;
      }
      if (c === 0x32) return 2; // ESC 2 default spacing
      if ([0x61, 0x45, 0x2d, 0x21, 0x4a, 0x33, 0x47, 0x4d, 0x52, 0x7b].includes(c)) return need(3);
      if (c === 0x74) {
        if (left < 3) return NEED_MORE;
        this.codePage = buf[at + 2]!;
        return 3;
      }
      if (c === 0x64) {
        if (left < 3) return NEED_MORE;
        if (this.line) this.endLine();
        return 3;
      }
      return this.unknownCommand(buf, at, 2);
    }
    if (b === 0x1d) {
      if (left < 2) return NEED_MORE;
      const c = buf[at + 1]!;
      if ([0x21, 0x68, 0x77, 0x48, 0x66].includes(c)) return need(3);
      if (c === 0x56) {
        if (left < 3) return NEED_MORE;
        const m = buf[at + 2]!;
        const length = m === 65 || m === 66 ? 4 : 3;
        if (left < length) return NEED_MORE;
        this.cut();
        return length;
      }
      if (c === 0x6b) return this.barcode(buf, at);
      if (c === 0x28 && left >= 3 && buf[at + 2] === 0x6b) return this.qrFunction(buf, at);
      if (c === 0x28 && left < 3) return NEED_MORE;
      if (c === 0x76) return this.raster(buf, at);
      return this.unknownCommand(buf, at, 2);
    }
    return this.unknownCommand(buf, at, 1);
  }

  private barcode(buf: Buffer, at: number): number {
    const left = buf.length - at;
    if (left < 3) return NEED_MORE;
    const m = buf[at + 2]!;
    let data: Buffer;
    let used: number;
    if (m <= 6) {
      const end = buf.indexOf(0, at + 3);
      if (end < 0) return NEED_MORE;
      data = buf.subarray(at + 3, end);
      used = end + 1 - at;
    } else {
      if (left < 4) return NEED_MORE;
      const n = buf[at + 3]!;
      if (left < 4 + n) return NEED_MORE;
      data = buf.subarray(at + 4, at + 4 + n);
      used = 4 + n;
    }
    let text = data.toString('latin1');
    const name = m === 73 ? 'CODE128' : m === 67 || m === 2 ? 'EAN13' : m === 69 || m === 4 ? 'CODE39' : `BARCODE${m}`;
    if (m === 73 && /^\{[ABC]/.test(text)) text = text.slice(2);
    this.mark(`[${name} ${text}]`);
    return used;
  }

  /** GS ( k pL pH cn fn [parameters]: cn 49 is QR Code; fn 65..81 are Epson's functions 165..181. */
  private qrFunction(buf: Buffer, at: number): number {
    if (buf.length - at < 5) return NEED_MORE;
    const total = 5 + (buf[at + 3]! | (buf[at + 4]! << 8));
    if (buf.length - at < total) return NEED_MORE;
    const refusal = this.qrCommand(buf.subarray(at + 5, at + total));
    if (refusal !== undefined)
      // The header, function and its first parameter: never the stored data itself.
      this.unknown.push({
        offset: this.consumed + at,
        bytes: buf.subarray(at, at + Math.min(total, 8)).toString('hex'),
        reason: refusal,
      });
    return total;
  }

  /** Runs one QR Code function (`cn fn parameters`); returns why it was refused, if it was. */
  private qrCommand(command: Buffer): string | undefined {
    if (command.length < 3 || command[0] !== 0x31) return 'not a QR Code function (cn 49)';
    const n = command[2]!;
    switch (command[1]) {
      case 0x41:
        if (n < 49 || n > 51) return `QR model ${n} is not 49..51`;
        this.qr.model = n;
        return undefined;
      case 0x43:
        if (n < 1 || n > 16) return `QR module size ${n} is not 1..16 dots`;
        this.qr.moduleSize = n;
        return undefined;
      case 0x45: {
        const level = QR_ERROR_LEVELS[n];
        if (level === undefined) return `QR error correction ${n} is not 48..51 (L, M, Q, H)`;
        this.qr.errorLevel = level;
        return undefined;
      }
      case 0x50:
        if (n !== 48) return `QR store: m is ${n}, not 48`;
        this.qr.data = Buffer.from(command.subarray(3));
        return undefined;
      case 0x51:
        if (n !== 48) return `QR print: m is ${n}, not 48`;
        return this.printQr();
      default:
        return `QR function ${command[1]! + 100} is not simulated`;
    }
  }

  private printQr(): string | undefined {
    const { data, model, moduleSize, errorLevel } = this.qr;
    if (!data || data.length === 0) return 'QR print with no data stored (function 180)';
    if (model !== 50) return `QR model ${model === 49 ? '1' : 'micro'} is not drawn by the simulator, only model 2`;
    const symbol = drawQrSymbol(data, { moduleSize, errorLevel });
    if (!symbol) return `QR data of ${data.length} bytes does not fit a version 40 symbol at level ${errorLevel}`;
    const { paperDots } = this.options;
    if (paperDots !== undefined && symbol.image.width > paperDots)
      return `QR symbol of ${symbol.image.width} dots is wider than the paper (${paperDots} dots)`;
    this.images.push(symbol.image);
    this.mark(`[QR ${data.toString('utf8')}]`);
    return undefined;
  }

  private raster(buf: Buffer, at: number): number {
    if (buf.length - at < 8) return NEED_MORE;
    if (buf[at + 2] !== 0x30) return this.unknownCommand(buf, at, 3);
    const rowBytes = buf[at + 4]! | (buf[at + 5]! << 8);
    const height = buf[at + 6]! | (buf[at + 7]! << 8);
    const size = rowBytes * height;
    if (buf.length - at < 8 + size) return NEED_MORE;
    const width = rowBytes * 8;
    const pixels = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++)
        pixels[y * width + x] = (buf[at + 8 + y * rowBytes + (x >> 3)]! >> (7 - (x & 7))) & 1;
    }
    this.images.push({ width, height, pixels });
    this.mark(`[RASTER ${width}x${height}]`);
    return 8 + size;
  }

  private unknownCommand(buf: Buffer, at: number, length: number): number {
    this.unknown.push({ offset: this.consumed + at, bytes: buf.subarray(at, at + length).toString('hex') });
    return length;
  }

  private mark(text: string): void {
    if (this.line) this.endLine();
    this.line = text;
    this.endLine();
  }

  private endLine(): void {
    const line = this.line;
    this.page.push(line);
    this.line = '';
    if (this.hooks.onLine?.(line) === false) this.paused = true;
  }

  private cut(): void {
    if (this.line) this.endLine();
    const page = this.page;
    this.pages.push(page);
    this.page = [];
    this.hooks.onPage?.(page);
  }
}
