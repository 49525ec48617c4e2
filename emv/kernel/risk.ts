/**
 * Terminal risk management (EMV Book 3 10.6): exception file, floor limit, random
 * transaction selection and velocity checking with the card's lower/upper consecutive
 * offline limits (9F14/9F23) against ATC and last online ATC (GET DATA 9F36, 9F13).
 */
import { randomInt } from 'node:crypto';
import { decodeTlv, findTag } from '../tlv/index.js';
import { commandApdu, SW_OK } from './apdu.js';
import type { TransactionContext } from './context.js';

async function getData(ctx: TransactionContext, tag: number): Promise<Buffer | undefined> {
  const { data, sw } = await ctx.channel.send(commandApdu(0x80, 0xca, tag >> 8, tag & 0xff, undefined, 0x00));
  if (sw !== SW_OK) return undefined;
  try {
    const value = findTag(decodeTlv(data), tag)?.value;
    return value && value.length === 2 ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function terminalRiskManagement(ctx: TransactionContext): Promise<void> {
  const { tvr, tsi, transaction } = ctx;
  const app = ctx.application!;
  // Book 3 10.6 lets the terminal perform risk management even when the AIP does not ask
  // for it; a courier's terminal always does, so a card cannot switch the floor limit off.

  const pan = ctx.pan();
  if (pan && ctx.terminal.exceptionFile?.includes(pan)) tvr.set('cardOnExceptionFile');
  if (transaction.forceOnline) tvr.set('merchantForcedOnline');

  if (transaction.amount >= app.floorLimit) tvr.set('exceedsFloorLimit');

  // Random transaction selection, only below the floor limit.
  const random = app.randomSelection;
  if (random && transaction.amount < app.floorLimit) {
    const draw = ctx.callbacks.random ? ctx.callbacks.random() : randomInt(1, 100);
    let percent: number;
    if (transaction.amount < random.threshold) percent = random.targetPercent;
    else {
      const interpolation = (transaction.amount - random.threshold) / Math.max(1, app.floorLimit - random.threshold);
      percent = random.targetPercent + (random.maxTargetPercent - random.targetPercent) * interpolation;
    }
    if (draw <= percent) tvr.set('selectedRandomlyForOnline');
  }

  // Velocity checking (Book 3 10.6.3). A counter the card does not give, or an ATC not
  // above the last online ATC, counts as both limits exceeded; "new card" only ever
  // comes from a last online ATC register the card returned as zero.
  const lower = ctx.card.get(0x9f14);
  const upper = ctx.card.get(0x9f23);
  if (lower && upper) {
    const atc = await getData(ctx, 0x9f36);
    const lastOnline = await getData(ctx, 0x9f13);
    if (lastOnline && lastOnline.readUInt16BE(0) === 0) tvr.set('newCard');
    const offlineCount = atc && lastOnline ? atc.readUInt16BE(0) - lastOnline.readUInt16BE(0) : 0;
    if (offlineCount <= 0) {
      tvr.set('lowerConsecutiveOfflineLimitExceeded');
      tvr.set('upperConsecutiveOfflineLimitExceeded');
    } else {
      if (offlineCount > lower[0]!) tvr.set('lowerConsecutiveOfflineLimitExceeded');
      if (offlineCount > upper[0]!) tvr.set('upperConsecutiveOfflineLimitExceeded');
    }
    if (atc) ctx.card.set(0x9f36, atc);
    if (lastOnline) ctx.card.set(0x9f13, lastOnline);
  }
  tsi.set('terminalRiskManagementPerformed');
}
