/**
 * Payment receipts: built from real payment results and journal rows, printed through the
 * printer driver to the printer simulator, read back as lines. The card shows as its last
 * four digits only.
 */
import t from 'tap';
import { PrinterDriver } from '../../../drivers/printer/driver.js';
import { PrinterSim } from '../../../drivers/printer/sim.js';
import { PRINTER_PROFILES } from '../../../drivers/printer/profiles.js';
import { EscPosDecoder } from '../../../drivers/printer/decoder.js';
import { memoryPair } from '../../../drivers/transport/memory.js';
import { buildPaymentReceipt, formatAmount, type ReceiptInput } from '../../../runtime/payment/receipt.js';
import type { CardPaymentResult } from '../../../runtime/payment/card-payment.js';
import { openSpool } from '../host/fixtures.js';

const MERCHANT = { name: 'CODPOS COURIER', terminalId: 'COD00001', merchantId: 'CODPOS-MERCHAN' };
const AT = new Date(2026, 10, 29, 10, 15, 30);
const chipApproved: CardPaymentResult = {
  outcome: 'approved',
  reason: 'online-approved',
  approvedOffline: false,
  entry: 'chip',
  responseCode: '00',
  authCode: '654321',
  signatureRequired: false,
  receipt: { panLast4: '0119', aid: 'A0000000031010', label: 'VISA CREDIT', tvr: '0000008000', tsi: 'E800' },
};

function lines(receipt: Buffer): string[] {
  const decoder = new EscPosDecoder();
  decoder.push(receipt);
  return decoder.allLines;
}

t.test("amounts: minor units in the currency's exponent, the alphabetic code", async (t) => {
  t.equal(formatAmount(2500, '840'), 'USD 25.00');
  t.equal(formatAmount(5, '978'), 'EUR 0.05');
  t.equal(formatAmount(2500, '392'), 'JPY 2500');
  t.equal(formatAmount(123456, '999'), '999 1234.56', 'an unknown currency keeps its number');
});

t.test(
  'an approved chip payment with PIN: every line an acquirer helpdesk asks for, the card as its last four digits, printed once',
  async (t) => {
    const spool = await openSpool(t);
    const txn = spool.journal.begin({
      amount: 2500,
      currency: '840',
      pan: '4761739001010119',
      waybill: 'RR123456785CH',
    });
    const input: ReceiptInput = {
      profile: PRINTER_PROFILES['58mm'],
      merchant: MERCHANT,
      at: AT,
      amount: 2500,
      currency: '840',
      waybill: 'RR123456785CH',
      payment: chipApproved,
      transaction: txn,
      copy: 'customer',
    };
    const receipt = buildPaymentReceipt(input);
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
    const page = sim.pages[0]!;
    t.same(page.slice(0, 6), [
      'CODPOS COURIER',
      'TID COD00001 MID CODPOS-MERCHAN',
      '2026-11-29              10:15:30',
      'WAYBILL            RR123456785CH',
      'SALE (CASH ON DELIVERY)',
      'AMOUNT                 USD 25.00',
    ]);
    t.ok(page.includes('VISA CREDIT            **** 0119'));
    t.ok(page.includes('ENTRY                       CHIP'));
    t.ok(page.includes('AID               A0000000031010'));
    t.ok(page.includes('TVR 0000008000          TSI E800'));
    t.ok(page.includes('AUTH 654321                RC 00'));
    t.ok(
      page.includes(
        `STAN ${String(txn.stan).padStart(6, '0')}`.padEnd(32 - `RRN ${txn.rrn}`.length) + `RRN ${txn.rrn}`,
      ),
    );
    t.ok(page.includes('APPROVED'));
    t.ok(page.includes('NO SIGNATURE REQUIRED'));
    t.ok(page.includes('-- CUSTOMER COPY --'));
    t.ok(
      page.every((line) => line.length <= 32),
      'nothing wider than 58 mm paper',
    );
    t.notMatch(page.join('\n'), /4761739001010119|476173/, 'no more of the PAN than its last four digits');
  },
);

t.test(
  'signature CVM: the merchant copy has a signature line, the customer copy does not; offline approval says so',
  async (t) => {
    const offline: CardPaymentResult = {
      ...chipApproved,
      approvedOffline: true,
      responseCode: 'Y1',
      authCode: 'Y1',
      signatureRequired: true,
    };
    const base = {
      profile: PRINTER_PROFILES['80mm'],
      merchant: MERCHANT,
      at: AT,
      amount: 500,
      currency: '840',
      payment: offline,
    };
    const merchant = lines(buildPaymentReceipt({ ...base, copy: 'merchant' }));
    const customer = lines(buildPaymentReceipt({ ...base, copy: 'customer' }));
    t.ok(merchant.includes('APPROVED OFFLINE'));
    t.ok(merchant.includes(`X${'_'.repeat(47)}`), 'a signature line across 80 mm paper');
    t.ok(merchant.includes('CARDHOLDER SIGNATURE'));
    t.notOk(
      customer.some((l) => l.startsWith('X___')),
      'no signature line on the customer copy',
    );
    t.notOk(customer.includes('NO SIGNATURE REQUIRED'), 'and it does not say no signature is required');
  },
);

t.test('a declined payment prints the reason and no signature line', async (t) => {
  const declined: CardPaymentResult = {
    outcome: 'declined',
    reason: 'declined by the issuer (51)',
    approvedOffline: false,
    entry: 'stripe',
    responseCode: '51',
    signatureRequired: false,
    receipt: { panLast4: '1111' },
  };
  const page = lines(
    buildPaymentReceipt({
      profile: PRINTER_PROFILES['58mm'],
      merchant: MERCHANT,
      at: AT,
      amount: 90_000,
      currency: '840',
      payment: declined,
      copy: 'customer',
    }),
  );
  t.ok(page.includes('DECLINED'));
  t.ok(page.includes('declined by the issuer (51)'));
  t.ok(page.includes('ENTRY                      SWIPE'));
  t.notOk(page.some((l) => l.startsWith('X___') || l === 'NO SIGNATURE REQUIRED'));
  t.ok(
    page.every((line) => line.length <= 32),
    'nothing wider than 58 mm paper',
  );
});

t.test('a tap: ENTRY CONTACTLESS; a card under the CVM limit prints "no signature required"', async (t) => {
  const tap: CardPaymentResult = {
    outcome: 'approved',
    reason: 'approved online',
    approvedOffline: false,
    entry: 'contactless',
    responseCode: '00',
    authCode: '123456',
    signatureRequired: false,
    receipt: { panLast4: '0010', aid: 'A0000000041010', label: 'MASTERCARD', tvr: '0000000000' },
  };
  const page = lines(
    buildPaymentReceipt({
      profile: PRINTER_PROFILES['58mm'],
      merchant: MERCHANT,
      at: AT,
      amount: 1200,
      currency: '840',
      payment: tap,
      copy: 'merchant',
    }),
  );
  t.ok(page.includes('ENTRY                CONTACTLESS'));
  t.ok(page.includes('MASTERCARD             **** 0010'));
  t.ok(page.includes('NO SIGNATURE REQUIRED'));
  t.notOk(page.includes('VERIFIED ON DEVICE'), 'a card verifies no one on its own');
});

t.test(
  "a phone's consumer-device CVM prints VERIFIED ON DEVICE where the signature line would go, on both copies",
  async (t) => {
    const phone: CardPaymentResult = {
      outcome: 'approved',
      reason: 'approved online',
      approvedOffline: false,
      entry: 'contactless',
      responseCode: '00',
      authCode: '123456',
      // Even a kernel that also asked for a signature: the phone's own verification is what was done.
      signatureRequired: true,
      verifiedOnDevice: true,
      receipt: { panLast4: '0119', aid: 'A0000000031010', label: 'VISA' },
    };
    const base = {
      profile: PRINTER_PROFILES['58mm'],
      merchant: MERCHANT,
      at: AT,
      amount: 9000,
      currency: '840',
      payment: phone,
    };
    for (const copy of ['merchant', 'customer'] as const) {
      const page = lines(buildPaymentReceipt({ ...base, copy }));
      t.ok(page.includes('VERIFIED ON DEVICE'), `${copy} copy`);
      t.ok(page.includes('ENTRY                CONTACTLESS'), `${copy} copy`);
      t.notOk(
        page.some((l) => l.startsWith('X___') || l === 'CARDHOLDER SIGNATURE' || l === 'NO SIGNATURE REQUIRED'),
        `${copy} copy: no signature line and no "no signature required"`,
      );
    }
  },
);
