import t from 'tap';
import { EscPosBuilder, wrapText, type MonoImage } from '../../drivers/printer/escpos.js';
import { PRINTER_PROFILES, printerProfile } from '../../drivers/printer/profiles.js';
import { EscPosDecoder } from '../../drivers/printer/decoder.js';
import { PrinterDriver, type PrinterState } from '../../drivers/printer/driver.js';
import { PrinterSim } from '../../drivers/printer/sim.js';
import { pngToMonoImage } from '../../drivers/printer/png.js';
import { parseStatus, encodeStatus } from '../../drivers/printer/status.js';
import { memoryPair } from '../../drivers/transport/memory.js';
import { splitsOf } from './split.js';

const p58 = PRINTER_PROFILES['58mm'];
const hex = (b: Buffer) => b.toString('hex');

t.test('builder: exact bytes of each command', async (t) => {
  const b = () => new EscPosBuilder(p58);
  t.equal(hex(b().init().build()), '1b40');
  t.equal(hex(b().align('center').align('right').align('left').build()), '1b61011b61021b6100');
  t.equal(hex(b().bold().bold(false).build()), '1b45011b4500');
  t.equal(hex(b().underline(2).underline(0).build()), '1b2d021b2d00');
  t.equal(hex(b().doubleSize().doubleSize(false).size(3, 1).build()), '1d21111d21001d2120');
  t.equal(hex(b().codePage(16).text('café').build()), '1b7410' + '636166e9');
  t.equal(hex(b().text('café').build()), '6361663f', 'code page 0 cannot show é');
  t.equal(hex(b().line('AB').feed(3).build()), '41420a' + '1b6403');
  t.equal(hex(b().code128('RR1').build()), '1d6850' + '1d7702' + '1d4802' + '1d6b4905' + '7b42525231');
  t.equal(
    hex(b().qr('hi').build()),
    '1d286b0400314132' +
      '00' +
      '1d286b03003143' +
      '06' +
      '1d286b03003145' +
      '31' +
      '1d286b0500315030' +
      '6869' +
      '1d286b0300315130',
  );
  const image: MonoImage = {
    width: 10,
    height: 2,
    pixels: Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0]),
  };
  t.equal(hex(b().raster(image).build()), '1d7630' + '00' + '0200' + '0200' + '8040' + '4080');
  t.equal(hex(b().cut().build()), '1d564200');
  t.throws(() => b().raster({ width: 385, height: 1, pixels: new Uint8Array(385) }), {
    message: /385 dots does not fit the 58mm paper \(384 dots\)/,
  });
  t.throws(() => b().size(9, 1), { message: /width must be 1\.\.8/ });
  t.throws(() => printerProfile('72mm'), { code: 'CODPOS_USAGE_PRINTER_PROFILE' });
});

t.test('word wrap follows the profile and the character width', async (t) => {
  t.same(wrapText('the quick brown fox jumps', 10), ['the quick', 'brown fox', 'jumps']);
  t.same(wrapText('RR123456785CHXXXXXX', 8), ['RR123456', '785CHXXX', 'XXX']);
  const text = 'Cash on delivery collected from the consignee at the door';
  const lines58 = new EscPosDecoder();
  lines58.push(new EscPosBuilder(p58).wrap(text).build());
  t.ok(lines58.allLines.every((l) => l.length <= 32));
  t.same(lines58.allLines, ['Cash on delivery collected from', 'the consignee at the door']);
  const wide = new EscPosDecoder();
  wide.push(new EscPosBuilder(PRINTER_PROFILES['80mm']).doubleSize().wrap(text).build());
  t.ok(wide.allLines.every((l) => l.length <= 24));
  t.equal(wide.allLines.length, 3);
});

function sampleJob(): Buffer {
  const image: MonoImage = { width: 16, height: 3, pixels: new Uint8Array(48).map((_, i) => (i % 3 === 0 ? 1 : 0)) };
  return new EscPosBuilder(p58)
    .init()
    .align('center')
    .bold()
    .line('CODPOS COURIER')
    .bold(false)
    .codePage(16)
    .line('Total 12.50')
    .code128('RR123456785CH')
    .qr('https://t.example/RR123456785CH')
    .raster(image)
    .line('thank you')
    .cut()
    .build();
}

t.test('decoder: every split of a job gives the same pages, marks and images', async (t) => {
  const job = sampleJob();
  for (const parts of splitsOf(job)) {
    const decoder = new EscPosDecoder();
    for (const p of parts) decoder.push(p);
    t.same(decoder.pages, [
      [
        'CODPOS COURIER',
        'Total 12.50',
        '[CODE128 RR123456785CH]',
        '[QR https://t.example/RR123456785CH]',
        '[RASTER 16x3]',
        'thank you',
      ],
    ]);
    t.same(decoder.unknown, []);
    t.equal(decoder.images.length, 2, 'the QR symbol and the raster');
  }
});

t.test('decoder: unknown commands are reported with their offset, text around them survives', async (t) => {
  const decoder = new EscPosDecoder();
  decoder.push(Buffer.from([0x41, 0x1b, 0x99, 0x42, 0x1d, 0x99, 0x0a, 0x07]));
  t.same(decoder.allLines, ['AB']);
  t.same(decoder.unknown, [
    { offset: 1, bytes: '1b99' },
    { offset: 4, bytes: '1d99' },
    { offset: 7, bytes: '07' },
  ]);
});

t.test('raster images come back as PNG with the same pixels', async (t) => {
  const { host, device } = memoryPair();
  const sim = new PrinterSim(device);
  await sim.start();
  await host.open();
  const image: MonoImage = {
    width: 8,
    height: 2,
    pixels: Uint8Array.from([1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]),
  };
  await host.write(new EscPosBuilder(p58).raster(image).build());
  await new Promise((r) => setImmediate(r));
  const png = sim.pngs()[0]!;
  t.same(png.subarray(1, 4).toString(), 'PNG');
  t.same(pngToMonoImage(png), image);
});

t.test(
  'the simulator keeps the latest pages, images and unknown commands only; a page listener gets each page with its images',
  async (t) => {
    const { host, device } = memoryPair();
    const sim = new PrinterSim(device, { keepPages: 3, keepImages: 2, keepUnknown: 2 });
    await sim.start();
    await host.open();
    const heard: Array<{ lines: string[]; images: number }> = [];
    sim.on('page', (lines: string[], images: MonoImage[]) => heard.push({ lines, images: images.length }));
    const image: MonoImage = { width: 8, height: 1, pixels: new Uint8Array(8) };
    for (let i = 1; i <= 10; i++) {
      const page = new EscPosBuilder(p58).line(`page ${i}`).raster(image).build();
      await host.write(Buffer.concat([page, Buffer.from([0x07]), new EscPosBuilder(p58).cut().build()]));
    }
    await host.drain();
    t.same(
      sim.pages.map((page) => page[0]),
      ['page 8', 'page 9', 'page 10'],
      'the last three pages',
    );
    t.equal(sim.pngs().length, 2, 'the last two images');
    t.equal(sim.unknown.length, 2, 'the last two unknown commands');
    t.equal(heard.length, 10, 'every page was heard');
    t.ok(
      heard.every((page) => page.images === 1),
      'each with its own image, also after older ones were forgotten',
    );
    t.same(heard[9]!.lines, ['page 10', '[RASTER 8x1]']);
  },
);

t.test('status bytes: DLE EOT answers round-trip', async (t) => {
  const out = { offline: true, coverOpen: false, paperNearEnd: true, paperOut: true, error: false }; // a printer out of paper is also offline
  const [a, b, c, d] = encodeStatus(out);
  t.same(parseStatus(a, b, c, d), out);
  t.same(parseStatus(0x12, 0x12, 0x12, 0x12), {
    offline: false,
    coverOpen: false,
    paperNearEnd: false,
    paperOut: false,
    error: false,
  });
});

async function printerPair(simOptions = {}) {
  const { host, device } = memoryPair('printer');
  const sim = new PrinterSim(device, simOptions);
  const driver = new PrinterDriver(host, { statusPollMs: 5, statusTimeoutMs: 1000 });
  await sim.start();
  await driver.start();
  const states: PrinterState[] = [];
  driver.on('state', (s: PrinterState) => states.push(s));
  return { sim, driver, states };
}

t.test('paper out before a job: the job is held, then printed exactly once when paper returns', async (t) => {
  const { sim, driver, states } = await printerPair();
  sim.paperOut();
  const printed = driver.print(sampleJob());
  await new Promise<void>((resolve) => driver.on('state', (s: PrinterState) => s.state === 'held' && resolve()));
  t.same(driver.state, { state: 'held', reason: 'paper out' });
  t.equal(driver.jobsSent, 0, 'nothing sent while the paper is out');
  t.same(sim.pages, []);
  sim.paperIn();
  await printed;
  t.equal(sim.pages.length, 1, 'printed once');
  t.equal(sim.pages[0]![0], 'CODPOS COURIER');
  t.equal(driver.jobsSent, 1);
  t.same(
    states.map((s) => s.state).filter((s, i, a) => s !== a[i - 1]),
    ['printing', 'held', 'printing', 'ready'],
  );
});

t.test('paper runs out in the middle of a job: held, then the rest prints, the job appears exactly once', async (t) => {
  const { sim, driver } = await printerPair({ runOutAfterLines: 2 });
  const printed = driver.print(sampleJob());
  await new Promise<void>((resolve) => driver.on('state', (s: PrinterState) => s.state === 'held' && resolve()));
  t.same(sim.decoder.currentPage, ['CODPOS COURIER', 'Total 12.50'], 'stopped after two lines');
  sim.paperIn();
  await printed;
  t.equal(sim.pages.length, 1);
  t.same(sim.pages[0], [
    'CODPOS COURIER',
    'Total 12.50',
    '[CODE128 RR123456785CH]',
    '[QR https://t.example/RR123456785CH]',
    '[RASTER 16x3]',
    'thank you',
  ]);
  t.equal(driver.jobsSent, 1, 'never resent');
});

t.test('reprint last and a silent printer', async (t) => {
  const { sim, driver } = await printerPair();
  await t.rejects(driver.reprintLast(), { code: 'CODPOS_DEVICE_PRINTER_NOTHING_TO_REPRINT' });
  await driver.print(new EscPosBuilder(p58).line('one').cut().build());
  await driver.reprintLast();
  t.same(sim.pages, [['one'], ['one']]);
  const { host } = memoryPair();
  await host.open();
  const mute = new PrinterDriver(host, { statusTimeoutMs: 5 });
  await t.rejects(mute.status(), { code: 'CODPOS_DEVICE_PRINTER_NO_STATUS', message: /did not answer DLE EOT 1/ });
});

t.test('an unplugged printer holds the job; it prints once when the printer is back', async (t) => {
  const { ReconnectingTransport } = await import('../../drivers/transport/reconnecting.js');
  const { host, device } = memoryPair('printer');
  const sim = new PrinterSim(device);
  const link = new ReconnectingTransport(host, { initialDelayMs: 2, maxDelayMs: 5 });
  const driver = new PrinterDriver(link, { statusPollMs: 5 });
  await sim.start();
  await driver.start();
  host.unplug();
  const printed = driver.print(new EscPosBuilder(p58).line('receipt 42').cut().build());
  await new Promise<void>((resolve) => driver.on('state', (s: PrinterState) => s.state === 'held' && resolve()));
  t.match(driver.state, { state: 'held', reason: /offline/ });
  t.equal(driver.jobsSent, 0);
  host.plug();
  await sim.start();
  await printed;
  t.same(sim.pages, [['receipt 42']]);
  t.equal(driver.jobsSent, 1);
  await link.close();
});

t.test(
  'a printer that hangs after the job went out: CODPOS_DEVICE_PRINT_UNCONFIRMED, not an error a caller would retry',
  async (t) => {
    const { host, device } = memoryPair('printer');
    const sim = new PrinterSim(device);
    const driver = new PrinterDriver(host, { statusPollMs: 5, statusTimeoutMs: 50 });
    await sim.start();
    await driver.start();
    sim.hangAfterNextPage();
    await t.rejects(driver.print(new EscPosBuilder(p58).line('receipt 7').cut().build()), {
      code: 'CODPOS_DEVICE_PRINT_UNCONFIRMED',
      details: { sent: true },
      message: /look at the paper before printing again/,
    });
    t.same(sim.pages, [['receipt 7']], 'it did print, once');
    t.equal(driver.jobsSent, 1);
    t.same(driver.state, { state: 'ready' });
  },
);

t.test('stopping the printer with a job held ends the job as cancelled at once (it was never sent)', async (t) => {
  const { sim, driver } = await printerPair();
  sim.paperOut();
  const printed = driver.print(new EscPosBuilder(p58).line('never').cut().build());
  await new Promise<void>((resolve) => driver.on('state', (s: PrinterState) => s.state === 'held' && resolve()));
  await driver.stop();
  await t.rejects(printed, { code: 'CODPOS_DEVICE_PRINT_CANCELLED', message: /stopped while the job was held/ });
  t.equal(driver.jobsSent, 0);
  t.same(sim.pages, []);
});

t.test('a held job can be cancelled: it is never printed', async (t) => {
  const { sim, driver } = await printerPair();
  sim.paperOut();
  const abort = new AbortController();
  const printed = driver.print(new EscPosBuilder(p58).line('never').cut().build(), { signal: abort.signal });
  await new Promise<void>((resolve) => driver.on('state', (s: PrinterState) => s.state === 'held' && resolve()));
  abort.abort();
  await t.rejects(printed, { code: 'CODPOS_DEVICE_PRINT_CANCELLED' });
  sim.paperIn();
  await driver.print(new EscPosBuilder(p58).line('next').cut().build());
  t.same(sim.pages, [['next']]);
});
