/**
 * QR payment receipts: built from QR journal rows as the flow leaves them (paid, refunded),
 * printed through the printer driver to the printer simulator and read back: every line the
 * PSP's helpdesk and the depot ask for, and nothing more (no card data: a QR payment has none).
 */
import t, { type Test } from 'tap';
import { PrinterDriver } from '../../../drivers/printer/driver.js';
import { PrinterSim } from '../../../drivers/printer/sim.js';
import { PRINTER_PROFILES } from '../../../drivers/printer/profiles.js';
import { memoryPair } from '../../../drivers/transport/memory.js';
import { isPosError } from '../../../config/errors.js';
import { qrReceipt } from '../../../runtime/payment/qr-receipt.js';
import type { QrState, QrTransaction, Spool } from '../../../spool/index.js';
import { openSpool } from '../host/fixtures.js';

const MERCHANT = { name: 'CODPOS COURIER', terminalId: 'COD00001', merchantId: 'CODPOS-MERCHAN' };
const AT = new Date(2026, 10, 29, 10, 15, 30);
const PROFILE = PRINTER_PROFILES['58mm'];

async function printed(t: Test, receipt: Buffer): Promise<string[]> {
  const { host, device } = memoryPair('printer');
  const sim = new PrinterSim(device);
  const printer = new PrinterDriver(host, { statusPollMs: 5 });
  await sim.start();
  await printer.start();
  t.teardown(async () => {
    await printer.stop();
    await sim.stop();
  });
  await printer.print(receipt);
  t.equal(sim.pages.length, 1, 'one page, cut');
  return sim.pages[0]!;
}

function payment(spool: Spool, path: QrState[], refundedAmount?: number): QrTransaction {
  const begun = spool.qrJournal.begin({ mode: 'merchant', amount: 2500, currency: '840', waybill: 'RR123456785CH' });
  spool.qrJournal.attach(begun.id, { pspOrderId: 'PSPORD-20261129-000042' });
  let txn = begun;
  for (const state of path)
    txn = spool.qrJournal.transition(begun.id, state, {
      ...(state === 'paid' ? { wallet: 'SimWallet' } : {}),
      ...(state === 'refunded' ? { refundedAmount: refundedAmount ?? 2500 } : {}),
    });
  return txn;
}

/** The id wrapped under its label as the 32 columns of 58 mm paper take it. */
function wrapped(id: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < id.length; i += 32) lines.push(id.slice(i, i + 32));
  return lines;
}

t.test('a paid QR payment: merchant, time, waybill, amount, PAID BY QR and the wallet, the ids, PAID', async (t) => {
  const spool = await openSpool(t);
  const txn = payment(spool, ['paid']);
  const page = await printed(t, qrReceipt(txn, { profile: PROFILE, merchant: MERCHANT, at: AT }));
  t.same(page, [
    'CODPOS COURIER',
    'TID COD00001 MID CODPOS-MERCHAN',
    '2026-11-29              10:15:30',
    'WAYBILL            RR123456785CH',
    'SALE (CASH ON DELIVERY)',
    'AMOUNT                 USD 25.00',
    'PAID BY QR             SIMWALLET',
    'PSP ORDER',
    'PSPORD-20261129-000042',
    'TERMINAL REF',
    ...wrapped(txn.id),
    'PAID',
  ]);
});

t.test('a refund receipt says REFUND, what was paid and what was given back', async (t) => {
  const spool = await openSpool(t);
  const txn = payment(spool, ['paid', 'refunded'], 1000);
  const page = await printed(t, qrReceipt(txn, { profile: PROFILE, merchant: MERCHANT, at: AT, reprint: true }));
  t.same(page, [
    'CODPOS COURIER',
    'TID COD00001 MID CODPOS-MERCHAN',
    '*** REPRINT ***',
    '2026-11-29              10:15:30',
    'WAYBILL            RR123456785CH',
    'REFUND (CASH ON DELIVERY)',
    'PAID                   USD 25.00',
    'REFUNDED               USD 10.00',
    'PAID BY QR             SIMWALLET',
    'PSP ORDER',
    'PSPORD-20261129-000042',
    'TERMINAL REF',
    ...wrapped(txn.id),
    'REFUNDED',
  ]);
});

t.test('without a time given, the time the payment was last moved is printed', async (t) => {
  const spool = await openSpool(t);
  const txn = payment(spool, ['paid']);
  const page = await printed(t, qrReceipt(txn, { profile: PROFILE, merchant: MERCHANT }));
  const moved = new Date(txn.updatedAt);
  t.equal(page[2], `${localDate(moved)}              ${localTime(moved)}`);
});

t.test('a QR payment that has not paid (or may still) has no receipt', async (t) => {
  const spool = await openSpool(t);
  for (const path of [[], ['unknown'], ['declined'], ['cancelled']] as QrState[][]) {
    const txn = payment(spool, path);
    let caught: unknown;
    try {
      qrReceipt(txn, { profile: PROFILE, merchant: MERCHANT, at: AT });
    } catch (error) {
      caught = error;
    }
    const state = path.at(-1) ?? 'pending';
    t.ok(isPosError(caught), state);
    t.match(caught, {
      code: 'CODPOS_USAGE_NO_RECEIPT',
      message: `QR payment ${txn.id} is ${state}: only a paid or refunded QR payment has a receipt`,
    });
    if (state === 'pending') spool.qrJournal.transition(txn.id, 'cancelled');
    if (state === 'unknown') spool.qrJournal.transition(txn.id, 'declined');
  }
});

function localDate(at: Date): string {
  return `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`;
}

function localTime(at: Date): string {
  return [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
