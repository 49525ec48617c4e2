/**
 * Receipt printer simulator: decodes the ESC/POS it receives back to text
 * (pages split at cuts), barcode/QR marks, raster images and drawn QR symbols (PNG on request) and
 * a list of unknown commands. Scriptable: paper out / paper in, cover open /
 * close, and `runOutAfterLines` to lose the paper in the middle of a job.
 * Like a real printer it stops printing while blocked and keeps what it has
 * received, answering DLE EOT in real time, then prints the rest when it can.
 * It keeps only the latest pages, images and unknown commands (`keepPages`, ...): the
 * daemon's simulated printer prints every receipt of every day it runs.
 */
import { EventEmitter } from 'node:events';
import type { Transport } from '../transport/transport.js';
import { EscPosDecoder } from './decoder.js';
import { monoImageToPng } from './png.js';
import { encodeStatus, blockingReason, type PrinterStatus } from './status.js';
import { PRINTER_PROFILES, type PrinterProfile } from './profiles.js';
import type { MonoImage } from './escpos.js';

export interface PrinterSimOptions {
  profile?: PrinterProfile;
  /** The paper runs out after this many printed lines (once). */
  runOutAfterLines?: number;
  /** How many of the latest cut pages `pages` keeps (default 20). */
  keepPages?: number;
  /** How many of the latest raster images `pngs()` keeps (default 20). */
  keepImages?: number;
  /** How many of the latest unknown commands `unknown` keeps (default 100). */
  keepUnknown?: number;
}

/** Emits `page` (lines, the raster images printed since the previous cut) at each cut. */
export class PrinterSim extends EventEmitter {
  readonly decoder: EscPosDecoder;
  readonly status: PrinterStatus = {
    offline: false,
    coverOpen: false,
    paperNearEnd: false,
    paperOut: false,
    error: false,
  };
  readonly profile: PrinterProfile;
  private linesPrinted = 0;
  private runOutAfterLines: number | undefined;
  private hangAfterPage = false;
  private statusMuted = false;
  /** Images decoded before the current page: the page's own images come after them. */
  private imagesBeforePage = 0;
  private readonly keepPages: number;
  private readonly keepImages: number;
  private readonly keepUnknown: number;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    readonly transport: Transport,
    options: PrinterSimOptions = {},
  ) {
    super();
    this.profile = options.profile ?? PRINTER_PROFILES['58mm'];
    this.runOutAfterLines = options.runOutAfterLines;
    this.keepPages = options.keepPages ?? 20;
    this.keepImages = options.keepImages ?? 20;
    this.keepUnknown = options.keepUnknown ?? 100;
    this.decoder = new EscPosDecoder(
      {
        onStatusRequest: (n) => this.answerStatus(n),
        onPage: (page) => {
          if (this.hangAfterPage) this.statusMuted = true;
          const images: MonoImage[] = this.decoder.images.slice(this.imagesBeforePage);
          this.emit('page', page, images);
          this.forgetOldest();
        },
        onLine: () => {
          this.linesPrinted++;
          if (this.runOutAfterLines !== undefined && this.linesPrinted >= this.runOutAfterLines) {
            this.runOutAfterLines = undefined;
            this.status.paperOut = true;
            return false;
          }
          return true;
        },
      },
      { paperDots: this.profile.dots },
    );
    transport.on('data', this.onData);
  }

  async start(): Promise<void> {
    if (!this.transport.isOpen) await this.transport.open();
  }

  async stop(): Promise<void> {
    this.transport.off('data', this.onData);
    await this.transport.close();
  }

  /** The printer hangs after printing its next page: it stops answering status requests. */
  hangAfterNextPage(): void {
    this.hangAfterPage = true;
  }

  get pages(): string[][] {
    return this.decoder.pages;
  }

  get unknown() {
    return this.decoder.unknown;
  }

  pngs(): Buffer[] {
    return this.decoder.images.map(monoImageToPng);
  }

  paperOut(): void {
    this.status.paperOut = true;
    this.decoder.paused = true;
  }

  paperIn(): void {
    this.status.paperOut = false;
    this.resumeIfClear();
  }

  openCover(): void {
    this.status.coverOpen = true;
    this.decoder.paused = true;
  }

  closeCover(): void {
    this.status.coverOpen = false;
    this.resumeIfClear();
  }

  /** Keeps the latest pages, images and unknown commands only (listeners of `page` have seen them). */
  private forgetOldest(): void {
    const { pages, images, unknown } = this.decoder;
    if (pages.length > this.keepPages) pages.splice(0, pages.length - this.keepPages);
    if (images.length > this.keepImages) images.splice(0, images.length - this.keepImages);
    if (unknown.length > this.keepUnknown) unknown.splice(0, unknown.length - this.keepUnknown);
    this.imagesBeforePage = images.length;
  }

  private resumeIfClear(): void {
    if (blockingReason(this.status) === undefined) this.decoder.resume();
  }

  private receive(chunk: Buffer): void {
    if (!this.decoder.paused) {
      this.decoder.push(chunk);
      return;
    }
    // Blocked: keep the data for later but answer real-time status requests now.
    const kept: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x10 && chunk[i + 1] === 0x04 && i + 2 < chunk.length) {
        this.answerStatus(chunk[i + 2]!);
        i += 2;
      } else kept.push(chunk[i]!);
    }
    this.decoder.push(Buffer.from(kept));
  }

  private answerStatus(n: number): void {
    if (n < 1 || n > 4 || this.statusMuted) return;
    void this.transport.write(Buffer.from([encodeStatus(this.status)[n - 1]!])).catch(() => undefined);
  }
}
