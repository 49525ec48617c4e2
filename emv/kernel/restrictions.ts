/**
 * Processing restrictions (EMV Book 3 10.4): application version, application usage
 * control (AUC, 9F07) against the terminal type, the transaction type and domestic or
 * international use, and effective / expiry dates.
 */
import { dateValue, type TransactionContext } from './context.js';

/** AUC byte 1 and 2 bits (Book 3 annex C2). */
export const AUC = {
  domesticCash: 0x80,
  internationalCash: 0x40,
  domesticGoods: 0x20,
  internationalGoods: 0x10,
  domesticServices: 0x08,
  internationalServices: 0x04,
  validAtAtms: 0x02,
  validAtOtherTerminals: 0x01,
  // byte 2
  domesticCashback: 0x80,
  internationalCashback: 0x40,
} as const;

/** Terminal types 14, 15, 16 (unattended, financial institution, cash) are ATMs. */
function isAtm(terminalType: string): boolean {
  return terminalType === '14' || terminalType === '15' || terminalType === '16';
}

export function processingRestrictions(ctx: TransactionContext): void {
  const { tvr, card } = ctx;
  // Application version: both present and different.
  const cardVersion = card.get(0x9f08);
  if (
    cardVersion &&
    ctx.application &&
    cardVersion.toString('hex').toUpperCase() !== ctx.application.applicationVersion.toUpperCase()
  ) {
    tvr.set('differentApplicationVersions');
  }

  const auc = card.get(0x9f07);
  if (auc && auc.length >= 2) {
    const b1 = auc[0]!;
    const b2 = auc[1]!;
    let allowed = true;
    if (isAtm(ctx.terminal.terminalType)) allowed &&= (b1 & AUC.validAtAtms) !== 0;
    else allowed &&= (b1 & AUC.validAtOtherTerminals) !== 0;
    const issuerCountry = card.get(0x5f28);
    if (issuerCountry) {
      const domestic = issuerCountry.toString('hex') === ctx.terminalData.get(0x9f1a)!.toString('hex');
      const type = ctx.transaction.transactionType;
      if (type === '01') allowed &&= (b1 & (domestic ? AUC.domesticCash : AUC.internationalCash)) !== 0;
      if (type === '00' || type === '09') {
        allowed &&=
          (b1 &
            (domestic
              ? AUC.domesticGoods | AUC.domesticServices
              : AUC.internationalGoods | AUC.internationalServices)) !==
          0;
      }
      if (type === '09' || (ctx.transaction.otherAmount ?? 0) > 0)
        allowed &&= (b2 & (domestic ? AUC.domesticCashback : AUC.internationalCashback)) !== 0;
    }
    if (!allowed) tvr.set('serviceNotAllowed');
  }

  const today = dateValue(ctx.dateDigits());
  const effective = card.get(0x5f25);
  if (effective && dateValue(effective.toString('hex')) > today) tvr.set('applicationNotYetEffective');
  const expiry = card.get(0x5f24);
  if (expiry && dateValue(expiry.toString('hex')) < today) tvr.set('expiredApplication');
}
