/**
 * The printer simulator draws QR symbols as a printer's firmware does (GS ( k functions 165,
 * 167, 169, 180, 181): bytes from the builder go through a PrinterSim, and the image it drew is
 * read back by jsqr, an independent QR decoder, as a phone would read the paper.
 */
import t from 'tap';
import { EscPosBuilder, GS, type MonoImage } from '../../drivers/printer/escpos.js';
import { EscPosDecoder } from '../../drivers/printer/decoder.js';
import { PRINTER_PROFILES, type PrinterProfile } from '../../drivers/printer/profiles.js';
import { PrinterSim } from '../../drivers/printer/sim.js';
import { buildTestPage } from '../../drivers/printer/test-page.js';
import type { QrErrorLevel } from '../../drivers/printer/qr-symbol.js';
import { memoryPair } from '../../drivers/transport/memory.js';
import { prng } from '../helpers/prng.js';
import { readQr } from './read-qr.js';

const p58 = PRINTER_PROFILES['58mm'];
const p80 = PRINTER_PROFILES['80mm'];
const LEVELS: QrErrorLevel[] = ['L', 'M', 'Q', 'H'];

/**
 * The merchant-presented payload of the EMVCo QR Code Specification for Payment Systems,
 * Merchant-Presented Mode v1.1, example in its annex: merchant name and city in an alternate
 * language (tag 64) in Chinese, so the symbol carries UTF-8 beyond ASCII.
 */
const EMVCO_MPM_EXAMPLE =
  '00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A';

/** A PrinterSim fed `job` in seeded random chunks of 1..9 bytes, as a slow serial link delivers it. */
async function printInChunks(job: Buffer, profile: PrinterProfile, seed: number): Promise<PrinterSim> {
  const { host, device } = memoryPair('printer');
  const sim = new PrinterSim(device, { profile });
  await sim.start();
  await host.open();
  const random = prng(seed);
  for (let at = 0; at < job.length;) {
    const size = 1 + Math.floor(random() * 9);
    await host.write(job.subarray(at, at + size));
    at += size;
  }
  await host.drain();
  await sim.stop();
  return sim;
}

/** What one chunk of raw GS ( k bytes does to a fresh decoder. */
function decode(...commands: Array<Buffer | number[]>): EscPosDecoder {
  const decoder = new EscPosDecoder({}, { paperDots: p58.dots });
  for (const command of commands) decoder.push(Buffer.from(command));
  return decoder;
}

/** GS ( k with cn 49, function `fn` and its parameters. */
function qrCommand(fn: number, ...parameters: number[]): number[] {
  const length = parameters.length + 2;
  return [GS, 0x28, 0x6b, length & 0xff, length >> 8, 0x31, fn, ...parameters];
}

t.test('builder: the error level and module size are GS ( k functions 169 and 167, checked', async (t) => {
  const hex = new EscPosBuilder(p58).qr('hi', { moduleSize: 3, errorLevel: 'H' }).build().toString('hex');
  t.equal(
    hex,
    '1d286b0400314132' +
      '00' +
      '1d286b03003143' +
      '03' +
      '1d286b03003145' +
      '33' +
      '1d286b0500315030' +
      '6869' +
      '1d286b0300315130',
  );
  for (const [level, byte] of [
    ['L', '30'],
    ['M', '31'],
    ['Q', '32'],
  ] as const)
    t.match(new EscPosBuilder(p58).qr('hi', { errorLevel: level }).build().toString('hex'), `1d286b03003145${byte}`);
  t.throws(() => new EscPosBuilder(p58).qr('hi', { moduleSize: 17 }), {
    code: 'CODPOS_USAGE_ESCPOS',
    message: /1\.\.16/,
  });
  t.throws(() => new EscPosBuilder(p58).qr('hi', { moduleSize: 0 }), { code: 'CODPOS_USAGE_ESCPOS' });
  t.throws(() => new EscPosBuilder(p58).qr('hi', { errorLevel: 'X' as QrErrorLevel }), {
    code: 'CODPOS_USAGE_ESCPOS',
    message: /L, M, Q or H, got "X"/,
  });
});

t.test(
  'the EMVCo MPM example, at each error level and several module sizes, split in small chunks, reads back equal',
  async (t) => {
    let seed = 0x51c0de;
    const versionByLevel: number[] = [];
    for (const level of LEVELS) {
      const versions: number[] = [];
      for (const moduleSize of [2, 3, 5]) {
        const job = new EscPosBuilder(p80)
          .init()
          .line('pay here')
          .qr(EMVCO_MPM_EXAMPLE, { moduleSize, errorLevel: level })
          .line('thank you')
          .cut()
          .build();
        const sim = await printInChunks(job, p80, seed++);
        const what = `level ${level}, ${moduleSize}-dot modules`;
        t.same(sim.unknown, [], `${what}: nothing refused`);
        t.same(sim.pages, [['pay here', `[QR ${EMVCO_MPM_EXAMPLE}]`, 'thank you']], `${what}: the page and its mark`);
        t.equal(sim.decoder.images.length, 1, `${what}: one image, the symbol`);
        const image = sim.decoder.images[0]!;
        const read = readQr(image);
        if (!read) {
          t.fail(`${what}: jsqr found no symbol`);
          continue;
        }
        t.equal(read.data, EMVCO_MPM_EXAMPLE, `${what}: the payload`);
        t.same(Buffer.from(read.binaryData), Buffer.from(EMVCO_MPM_EXAMPLE, 'utf8'), `${what}: as UTF-8 bytes`);
        const modules = 17 + 4 * read.version;
        t.equal(
          image.width,
          (modules + 8) * moduleSize,
          `${what}: ${moduleSize} dots a module, 4 quiet modules a side`,
        );
        t.equal(image.height, image.width);
        t.ok(quietZoneIsBlank(image, 4 * moduleSize), `${what}: the quiet zone is blank`);
        t.equal(image.pixels[4 * moduleSize * image.width + 4 * moduleSize], 1, `${what}: the finder starts inside it`);
        versions.push(read.version);
      }
      t.equal(new Set(versions).size, 1, `level ${level}: the version does not depend on the module size`);
      versionByLevel.push(versions[0]!);
    }
    // More error correction needs a larger symbol for the same payload.
    t.ok(
      versionByLevel[0]! < versionByLevel[3]!,
      `level L (${versionByLevel[0]}) is smaller than level H (${versionByLevel[3]})`,
    );
    for (let i = 1; i < 4; i++) t.ok(versionByLevel[i - 1]! <= versionByLevel[i]!, 'versions grow with the level');
  },
);

function quietZoneIsBlank(image: MonoImage, dots: number): boolean {
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < image.width; x++) {
      const inside = x >= dots && y >= dots && x < image.width - dots && y < image.height - dots;
      if (!inside && image.pixels[y * image.width + x]) return false;
    }
  return true;
}

t.test('the level is honoured: a version 40 symbol holds 2953, 2331, 1663, 1273 bytes at L, M, Q, H', async (t) => {
  // ISO/IEC 18004 table 7, byte mode, version 40.
  const capacity: Record<QrErrorLevel, number> = { L: 2953, M: 2331, Q: 1663, H: 1273 };
  for (const level of LEVELS) {
    const full = decode(
      new EscPosBuilder(p58).qr('7'.repeat(capacity[level]), { moduleSize: 2, errorLevel: level }).build(),
    );
    t.same(full.unknown, [], `level ${level}: ${capacity[level]} bytes print`);
    t.equal(full.images[0]?.width, (177 + 8) * 2, `level ${level}: as a version 40 symbol`);
    const over = decode(
      new EscPosBuilder(p58).qr('7'.repeat(capacity[level] + 1), { moduleSize: 2, errorLevel: level }).build(),
    );
    t.equal(over.images.length, 0, `level ${level}: one byte more draws nothing`);
    t.same(over.allLines, [], 'and marks nothing');
    t.match(over.unknown, [
      {
        bytes: '1d286b0300315130',
        reason: `QR data of ${capacity[level] + 1} bytes does not fit a version 40 symbol at level ${level}`,
      },
    ]);
  }
});

t.test('power-on settings: model 2, 3-dot modules, level L, when only store and print are sent', async (t) => {
  const data = Buffer.from('A'.repeat(30));
  const decoder = decode(qrCommand(0x50, 0x30, ...data), qrCommand(0x51, 0x30));
  const read = readQr(decoder.images[0]!);
  t.equal(read?.data, 'A'.repeat(30));
  // ISO/IEC 18004 table 7, byte mode: version 2 holds 32 bytes at L but 26 at M.
  t.equal(read?.version, 2, 'the smallest version at level L');
  t.equal(decoder.images[0]!.width, (25 + 8) * 3);
});

t.test('refused QR commands are reported, draw nothing, and printing goes on', async (t) => {
  const store = (text: string) => qrCommand(0x50, 0x30, ...Buffer.from(text));
  const print = qrCommand(0x51, 0x30);
  const nothingStored = decode(print, Buffer.from('after\n'));
  t.same(nothingStored.unknown, [
    { offset: 0, bytes: '1d286b0300315130', reason: 'QR print with no data stored (function 180)' },
  ]);
  t.same(nothingStored.allLines, ['after'], 'no mark; the text after it prints');
  t.equal(nothingStored.images.length, 0);

  const emptyStore = decode(store(''), print);
  t.match(emptyStore.unknown, [{ reason: /no data stored/ }], 'an empty store is nothing to print');

  const reset = decode(store('hello'), [0x1b, 0x40], print);
  t.match(reset.unknown, [{ reason: /no data stored/ }], 'ESC @ clears the symbol storage area');

  const again = decode(store('hello'), print, print);
  t.equal(again.images.length, 2, 'the stored data stays after a print');

  const tooWide = new EscPosDecoder({}, { paperDots: p58.dots });
  tooWide.push(new EscPosBuilder(p58).qr(EMVCO_MPM_EXAMPLE, { moduleSize: 16 }).build());
  t.equal(tooWide.images.length, 0, 'a symbol wider than the paper is not drawn');
  t.match(tooWide.unknown, [{ reason: /QR symbol of \d+ dots is wider than the paper \(384 dots\)/ }]);

  const outOfRange = decode(qrCommand(0x43, 17), qrCommand(0x45, 52), qrCommand(0x41, 48), store('hi'), print);
  t.same(
    outOfRange.unknown.map((u) => u.reason),
    [
      'QR module size 17 is not 1..16 dots',
      'QR error correction 52 is not 48..51 (L, M, Q, H)',
      'QR model 48 is not 49..51',
    ],
  );
  t.equal(outOfRange.images[0]!.width, (21 + 8) * 3, 'the refused size left the 3-dot power-on size in place');

  const model1 = decode(qrCommand(0x41, 49, 0), store('hi'), print);
  t.match(model1.unknown, [{ reason: 'QR model 1 is not drawn by the simulator, only model 2' }]);
  t.equal(model1.images.length, 0);

  const other = decode(qrCommand(0x52, 0x30), [GS, 0x28, 0x6b, 3, 0, 0x30, 0x43, 3]);
  t.same(
    other.unknown.map((u) => u.reason),
    ['QR function 182 is not simulated', 'not a QR Code function (cn 49)'],
  );
});

t.test('every split of a QR job draws the same symbol', async (t) => {
  const job = new EscPosBuilder(p58).qr('https://t.example/RR123456785CH', { moduleSize: 2 }).build();
  const whole = decode(job);
  const cuts = [...Array(job.length + 1).keys()];
  for (const cut of cuts) {
    const split = decode(job.subarray(0, cut), job.subarray(cut));
    t.same(split.images, whole.images, `cut at ${cut}`);
  }
  t.equal(readQr(whole.images[0]!)?.data, 'https://t.example/RR123456785CH');
});

t.test("the test page's QR reads back as its tracking link", async (t) => {
  const sim = await printInChunks(buildTestPage(p58), p58, 0x7e57);
  t.same(sim.unknown, []);
  t.equal(sim.decoder.images.length, 2, 'the QR symbol and the signature');
  t.equal(readQr(sim.decoder.images[0]!)?.data, 'https://codpos.example/t/RR123456785CH');
  t.equal(sim.pngs().length, 2, 'both come out as PNG');
});
