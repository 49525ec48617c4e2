/**
 * The "scan to pay" slip: printed through the printer driver to the printer simulator, its text
 * read back as lines and its QR symbol read back by jsqr (an independent decoder) as the
 * consignee's phone would read the paper.
 */
import t, { type Test } from 'tap';
import { PrinterDriver } from '../../../drivers/printer/driver.js';
import { PrinterSim } from '../../../drivers/printer/sim.js';
import { PRINTER_PROFILES, type PrinterProfile } from '../../../drivers/printer/profiles.js';
import { memoryPair } from '../../../drivers/transport/memory.js';
import {
  qrSlip,
  slipModuleSize,
  QR_SLIP_MAX_SYMBOL_DOTS,
  QR_SLIP_MIN_SYMBOL_DOTS,
  type QrSlipInput,
} from '../../../runtime/payment/qr-slip.js';
import { readQr } from '../../drivers/read-qr.js';

/**
 * The merchant-presented example payload of the EMVCo QR Code Specification for Payment
 * Systems, Merchant-Presented Mode v1.1 (CNY 23.72 to BEST TRANSPORT, with Chinese text).
 */
const EMVCO_MPM_EXAMPLE =
  '00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A';

const INPUT: QrSlipInput = {
  payload: EMVCO_MPM_EXAMPLE,
  amount: 2372,
  currency: '156',
  waybill: 'RR123456785CH',
  merchantName: 'BEST TRANSPORT',
  terminalLabel: 'Van 12 / COD00001',
  orderRef: 'PSP-ORDER-0000042',
  at: new Date(2026, 10, 29, 10, 15, 30),
};

async function printSlip(t: Test, slip: Buffer, profile: PrinterProfile): Promise<PrinterSim> {
  const { host, device } = memoryPair('printer');
  const sim = new PrinterSim(device, { profile });
  const printer = new PrinterDriver(host, { statusPollMs: 5, profile });
  await sim.start();
  await printer.start();
  t.teardown(async () => {
    await printer.stop();
    await sim.stop();
  });
  await printer.print(slip);
  return sim;
}

t.test('on 58 mm paper: merchant, amount, waybill, the QR that reads back as the payload, the order', async (t) => {
  const profile = PRINTER_PROFILES['58mm'];
  const sim = await printSlip(t, qrSlip(INPUT, { profile }), profile);
  t.same(sim.unknown, [], 'every command printed');
  t.same(sim.pages, [
    [
      'BEST TRANSPORT',
      'Van 12 / COD00001',
      'SCAN TO PAY',
      '2026-11-29              10:15:30',
      'WAYBILL            RR123456785CH',
      'AMOUNT                 CNY 23.72',
      `[QR ${EMVCO_MPM_EXAMPLE}]`,
      'Scan with your wallet app',
      'ORDER          PSP-ORDER-0000042',
    ],
  ]);
  t.equal(sim.decoder.images.length, 1);
  const image = sim.decoder.images[0]!;
  const read = readQr(image);
  t.equal(read?.data, EMVCO_MPM_EXAMPLE, 'the symbol holds the payload');
  t.same(Buffer.from(read?.binaryData ?? []), Buffer.from(EMVCO_MPM_EXAMPLE, 'utf8'));
  const modules = 17 + 4 * read!.version;
  const moduleSize = image.width / (modules + 8);
  t.equal(moduleSize, slipModuleSize(read!.version, profile));
  t.ok(
    modules * moduleSize >= QR_SLIP_MIN_SYMBOL_DOTS && modules * moduleSize <= QR_SLIP_MAX_SYMBOL_DOTS,
    `the symbol is ${modules * moduleSize} dots: 30 to 40 mm`,
  );
});

t.test('on 80 mm paper the same slip reads back; a long order reference takes two lines', async (t) => {
  const profile = PRINTER_PROFILES['80mm'];
  const orderRef = 'PSP-' + '9'.repeat(44);
  const sim = await printSlip(t, qrSlip({ ...INPUT, orderRef }, { profile }), profile);
  const page = sim.pages[0]!;
  t.ok(page.includes('WAYBILL' + ' '.repeat(48 - 7 - 13) + 'RR123456785CH'));
  t.ok(page.includes('AMOUNT' + ' '.repeat(48 - 6 - 9) + 'CNY 23.72'));
  t.same(page.slice(page.indexOf('ORDER'), page.indexOf('ORDER') + 2), ['ORDER', orderRef]);
  t.equal(readQr(sim.decoder.images[0]!)?.data, EMVCO_MPM_EXAMPLE);
});

t.test(
  'module size: 30 to 40 mm for the versions an MPM payload takes, never under 30 mm, always on the paper',
  async (t) => {
    for (const profile of Object.values(PRINTER_PROFILES)) {
      for (let version = 1; version <= 40; version++) {
        const modules = 17 + 4 * version;
        const size = slipModuleSize(version, profile);
        const what = `${profile.name}, version ${version}: ${size} dots a module`;
        t.ok((modules + 8) * size <= profile.dots, `${what}: fits the paper with its quiet zone`);
        t.ok(modules * size >= QR_SLIP_MIN_SYMBOL_DOTS, `${what}: at least 30 mm`);
        // Whole-dot modules cannot land within 40 mm for these without falling under 30 mm.
        const over = (version >= 23 && version <= 25) || version >= 36;
        if (!over) t.ok(modules * size <= QR_SLIP_MAX_SYMBOL_DOTS, `${what}: at most 40 mm`);
        else t.equal(size * modules - modules < QR_SLIP_MIN_SYMBOL_DOTS, true, `${what}: one dot less is under 30 mm`);
      }
    }
    t.equal(slipModuleSize(1, PRINTER_PROFILES['58mm']), 13, 'version 1 on 58 mm: 15 dots would put 435 dots on 384');
    t.equal(slipModuleSize(1, PRINTER_PROFILES['80mm']), 15, 'version 1 on 80 mm: 315 dots');
    t.equal(slipModuleSize(10, PRINTER_PROFILES['58mm']), 5, 'version 10: 285 dots');
  },
);

t.test('a payload no QR symbol holds is refused before anything prints', async (t) => {
  t.throws(() => qrSlip({ ...INPUT, payload: '9'.repeat(2332) }, { profile: PRINTER_PROFILES['80mm'] }), {
    code: 'CODPOS_USAGE_ESCPOS',
    message: /payload of 2332 bytes does not fit a QR symbol at level M/,
  });
});
