/**
 * The technician's printer test page: every text mode, both barcode kinds, a
 * raster image (a signature-like stroke), the status just read, and a cut.
 */
import { EscPosBuilder, type MonoImage } from './escpos.js';
import type { PrinterProfile } from './profiles.js';
import type { PrinterStatus } from './status.js';

/** A wavy stroke like a signature, 1 dot thick, as wide as the paper allows. */
export function signatureImage(width: number, height = 48): MonoImage {
  const pixels = new Uint8Array(width * height);
  for (let x = 0; x < width; x++) {
    const y = Math.round(
      height / 2 + (height / 3) * Math.sin((x / width) * Math.PI * 6) * Math.cos((x / width) * Math.PI),
    );
    for (const dy of [0, 1]) {
      const row = Math.min(height - 1, Math.max(0, y + dy));
      pixels[row * width + x] = 1;
    }
  }
  return { width, height, pixels };
}

export function buildTestPage(profile: PrinterProfile, status?: PrinterStatus): Buffer {
  const b = new EscPosBuilder(profile)
    .init()
    .align('center')
    .bold()
    .doubleSize()
    .line('CODPOS TEST')
    .doubleSize(false)
    .bold(false);
  b.line(`${profile.name} / ${profile.dots} dots / ${profile.columns} cols`).align('left');
  b.line('normal text').bold().line('bold text').bold(false).underline(1).line('underlined text').underline(0);
  b.size(1, 2).line('double height').size(2, 1).line('double width').size(1, 1);
  b.line('0123456789'.repeat(Math.ceil(profile.columns / 10)).slice(0, profile.columns));
  b.wrap('Word wrap: this sentence is long enough to be wrapped at the paper width without cutting words.');
  b.codePage(16)
    .line('Code page 16: café à Zürich')
    .codePage(profile.codePage ?? 0);
  b.align('center').code128('RR123456785CH').qr('https://codpos.example/t/RR123456785CH');
  b.raster(signatureImage(Math.min(profile.dots, 320)));
  if (status) {
    b.align('left')
      .line(`paper: ${status.paperOut ? 'OUT' : status.paperNearEnd ? 'near end' : 'ok'}`)
      .line(`cover: ${status.coverOpen ? 'open' : 'closed'}`);
  }
  return b.line('--- end of test page ---').feed(3).cut().build();
}
