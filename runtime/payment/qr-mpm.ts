/**
 * The terminal's merchant-presented code (EMVCo MPM) for one QR payment: what the `qr` config
 * says of the merchant (accounts, category, name, city, country), the terminal's currency, and
 * of the payment its amount, its waybill (bill number) and its order reference (reference label).
 *
 * The wallet finds the order at the PSP by the reference label, so it is the order's orderRef
 * (qr-order-ref.ts: the row id in 22 characters, as an MPM value holds at most 25).
 */
import { buildMpm } from '../../emv/qr/index.js';
import type { Config } from '../../config/schema.js';
import type { QrTransaction } from '../../spool/qr-transaction.js';
import { orderRefOf } from './qr-order-ref.js';

export type QrConfig = NonNullable<Config['qr']>;

/** The dynamic MPM payload the screen shows and the slip prints for this row. */
export function terminalMpmPayload(
  config: Pick<Config, 'terminal'> & { qr: QrConfig },
  txn: Pick<QrTransaction, 'id' | 'amount' | 'currency' | 'waybill'>,
): string {
  const merchant = config.qr.merchant;
  return buildMpm({
    pointOfInitiation: 'dynamic',
    merchantAccounts: merchant.accounts.map((account) => ({
      id: account.id,
      globallyUniqueIdentifier: account.globallyUniqueIdentifier,
      fields: account.fields,
    })),
    merchantCategoryCode: merchant.mcc ?? config.terminal.merchantCategoryCode,
    currency: txn.currency,
    amountMinor: txn.amount,
    countryCode: merchant.country,
    merchantName: merchant.name,
    merchantCity: merchant.city,
    additionalData: {
      billNumber: txn.waybill,
      referenceLabel: orderRefOf(txn.id),
      terminalLabel: config.terminal.id,
    },
  });
}
