/** E-signatures: checked, drawn at the printer's width, and a PNG that reads back the same. */
import t from 'tap';
import { checkSignature, renderSignature, signaturePng, type Signature } from '../../../runtime/workflow/signature.js';
import { pngToMonoImage } from '../../../drivers/printer/png.js';

/** A diagonal from the top left corner to the bottom right one, in 20 points, 10 ms apart. */
const diagonal: Signature = {
  canvas: { width: 200, height: 100 },
  strokes: [Array.from({ length: 20 }, (_, i) => ({ x: (i * 200) / 19, y: (i * 100) / 19, t: i * 10 }))],
};

t.test('a stroke is drawn as a connected line at the printer width, the aspect kept', async (t) => {
  const image = renderSignature(diagonal, 384);
  t.equal(image.width, 384);
  t.equal(image.height, 192);
  const at = (x: number, y: number) => image.pixels[y * image.width + x];
  t.equal(at(0, 0), 1, 'the first point');
  t.equal(at(190, 95), 1, 'the middle of the line');
  t.equal(at(383, 191), 1, 'the last point');
  t.equal(at(383, 0), 0, 'the other corner is blank');
  // Connected: every column between the ends has ink.
  let gaps = 0;
  for (let x = 0; x < 384; x++) if (![...Array(192).keys()].some((y) => at(x, y) === 1)) gaps++;
  t.equal(gaps, 0);
});

t.test('the PNG reads back as the same picture', async (t) => {
  const png = signaturePng(diagonal, 384);
  t.same(png.subarray(0, 8), Buffer.from('89504e470d0a1a0a', 'hex'), 'a PNG');
  const back = pngToMonoImage(png);
  const drawn = renderSignature(diagonal, 384);
  t.equal(back.width, drawn.width);
  t.same(Buffer.from(back.pixels), Buffer.from(drawn.pixels));
});

t.test('what is not a signature is refused saying why', async (t) => {
  const tap = { canvas: { width: 200, height: 100 }, strokes: [[{ x: 5, y: 5, t: 0 }]] };
  t.throws(() => checkSignature(tap), {
    code: 'CODPOS_USAGE_SIGNATURE',
    message: /1 points is a tap, not a signature/,
  });
  t.throws(() => checkSignature({ canvas: { width: 200, height: 100 }, strokes: [] }), { message: /no strokes/ });
  const outside = { ...diagonal, strokes: [[...diagonal.strokes[0]!, { x: 250, y: 50, t: 500 }]] };
  t.throws(() => checkSignature(outside), { message: /\(250, 50\) is outside the 200 x 100 canvas/ });
  const backwards = { ...diagonal, strokes: [[...diagonal.strokes[0]!, { x: 10, y: 10, t: 5 }]] };
  t.throws(() => checkSignature(backwards), { message: /times must not go backwards/ });
  t.doesNotThrow(() => checkSignature(diagonal));
});
