/**
 * The consignee's e-signature, as the screen app captures it: strokes of touch points, each
 * with its time (ms since the first touch), on a canvas of known size. What is kept is both
 * the strokes with their times (the evidence: how it was written) and a 1-bit PNG of it (for
 * the receipt and the back-end's proof of delivery), drawn at the printer's width.
 */
import { PosError } from '../../config/errors.js';
import type { MonoImage } from '../../drivers/printer/escpos.js';
import { monoImageToPng } from '../../drivers/printer/png.js';

export interface SignaturePoint {
  x: number;
  y: number;
  /** Milliseconds since the first touch of the signature. */
  t: number;
}

export interface Signature {
  /** The capture area on the screen, in the same units as the points. */
  canvas: { width: number; height: number };
  strokes: SignaturePoint[][];
}

/** Fewer points than this is a tap or a slip, not a signature. */
const MIN_POINTS = 10;
/** More than this is not a hand-written signature (or not a reasonable one to store). */
const MAX_POINTS = 10_000;

/** Checks a captured signature; a bad one is a PosError (USAGE) saying what is wrong. */
export function checkSignature(signature: Signature): void {
  const bad = (why: string) => new PosError('CODPOS_USAGE_SIGNATURE', `signature: ${why}`);
  const { canvas, strokes } = (signature ?? {}) as Partial<Signature>;
  if (!canvas || !(canvas.width > 0) || !(canvas.height > 0) || canvas.width > 4096 || canvas.height > 4096)
    throw bad('canvas needs a width and height from 1 to 4096');
  if (!Array.isArray(strokes) || strokes.length === 0) throw bad('no strokes: the consignee did not sign');
  let points = 0;
  let lastT = -1;
  for (const [s, stroke] of strokes.entries()) {
    if (!Array.isArray(stroke) || stroke.length === 0) throw bad(`stroke ${s} has no points`);
    for (const [p, point] of stroke.entries()) {
      const { x, y, t } = (point ?? {}) as Partial<SignaturePoint>;
      if (typeof x !== 'number' || typeof y !== 'number' || typeof t !== 'number' || ![x, y, t].every(Number.isFinite))
        throw bad(`stroke ${s} point ${p} needs numbers x, y and t`);
      if (x < 0 || y < 0 || x > canvas.width || y > canvas.height)
        throw bad(`stroke ${s} point ${p} (${x}, ${y}) is outside the ${canvas.width} x ${canvas.height} canvas`);
      if (t < lastT) throw bad(`stroke ${s} point ${p}: times must not go backwards (${t} after ${lastT})`);
      lastT = t;
      points++;
    }
  }
  if (points < MIN_POINTS) throw bad(`${points} points is a tap, not a signature (at least ${MIN_POINTS})`);
  if (points > MAX_POINTS) throw bad(`${points} points is more than a signature holds (at most ${MAX_POINTS})`);
}

/** The signature drawn in black on white, `width` dots wide (the aspect kept), lines 2 dots thick. */
export function renderSignature(signature: Signature, width = 384): MonoImage {
  const scale = width / signature.canvas.width;
  const height = Math.max(1, Math.round(signature.canvas.height * scale));
  const pixels = new Uint8Array(width * height);
  const plot = (x: number, y: number) => {
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const) {
      const px = x + dx;
      const py = y + dy;
      if (px >= 0 && py >= 0 && px < width && py < height) pixels[py * width + px] = 1;
    }
  };
  for (const stroke of signature.strokes) {
    let previous: [number, number] | undefined;
    for (const point of stroke) {
      const here: [number, number] = [Math.round(point.x * scale), Math.round(point.y * scale)];
      if (previous) line(previous, here, plot);
      else plot(here[0], here[1]);
      previous = here;
    }
  }
  return { width, height, pixels };
}

/** The rendered signature as a PNG. */
export function signaturePng(signature: Signature, width = 384): Buffer {
  return monoImageToPng(renderSignature(signature, width));
}

/** Bresenham's line from `a` to `b`, both ends included. */
function line([x0, y0]: [number, number], [x1, y1]: [number, number], plot: (x: number, y: number) => void): void {
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let error = dx + dy;
  for (;;) {
    plot(x0, y0);
    if (x0 === x1 && y0 === y1) return;
    const e2 = 2 * error;
    if (e2 >= dy) {
      error += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      error += dx;
      y0 += sy;
    }
  }
}
