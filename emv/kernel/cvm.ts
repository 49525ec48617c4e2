/**
 * Cardholder verification (EMV Book 3 10.5, CVM list tag 8E): amounts X and Y, then
 * rules of two bytes (method, condition). codpos supports online PIN, signature and
 * "no CVM required"; offline PIN counts as not supported unless the terminal has a PIN
 * pad that can do it (then TVR "PIN pad not present or not working" is not set).
 */
import { decodeTlv, findTag } from '../tlv/index.js';
import { commandApdu, SW_OK } from './apdu.js';
import type { TransactionContext } from './context.js';

export const CVM = {
  fail: 0x00,
  offlinePlaintextPin: 0x01,
  onlineEncipheredPin: 0x02,
  offlinePlaintextPinAndSignature: 0x03,
  offlineEncipheredPin: 0x04,
  offlineEncipheredPinAndSignature: 0x05,
  signature: 0x1e,
  noCvmRequired: 0x1f,
} as const;

/** CVM Results byte 3 (Book 4 A4). */
export const CVM_RESULT = { unknown: 0x00, failed: 0x01, successful: 0x02 } as const;

/** Bit 7 of the method byte: apply the next rule if this one fails. */
const APPLY_NEXT = 0x40;

export interface CvmOutcome {
  results: Buffer;
  signatureRequired: boolean;
  pinBlock?: Buffer;
}

function isOfflinePin(method: number): boolean {
  return (
    method === CVM.offlinePlaintextPin ||
    method === CVM.offlinePlaintextPinAndSignature ||
    method === CVM.offlineEncipheredPin ||
    method === CVM.offlineEncipheredPinAndSignature
  );
}

function terminalSupports(ctx: TransactionContext, method: number): boolean {
  const caps = ctx.terminalData.get(0x9f33)![1]!;
  switch (method) {
    case CVM.offlinePlaintextPin:
    case CVM.offlinePlaintextPinAndSignature:
      return (
        (caps & 0x80) !== 0 &&
        ctx.terminal.offlinePinSupported === true &&
        ctx.callbacks.requestOfflinePinBlock !== undefined
      );
    case CVM.offlineEncipheredPin:
    case CVM.offlineEncipheredPinAndSignature:
      // Enciphering the PIN under the ICC PIN key is not part of codpos' PIN pad.
      return false;
    case CVM.onlineEncipheredPin:
      return (caps & 0x40) !== 0;
    case CVM.signature:
      return (caps & 0x20) !== 0;
    case CVM.noCvmRequired:
      return (caps & 0x08) !== 0;
    case CVM.fail:
      return true;
    default:
      return false;
  }
}

const KNOWN_METHODS = new Set<number>(Object.values(CVM));

/** Whether the rule's condition (Book 3 annex C3) is satisfied; undefined = not understood. */
function conditionMet(
  ctx: TransactionContext,
  condition: number,
  method: number,
  x: number,
  y: number,
): boolean | undefined {
  const type = ctx.transaction.transactionType;
  const amount = ctx.transaction.amount;
  const inAppCurrency = ctx.card.get(0x9f42)?.toString('hex') === ctx.terminalData.get(0x5f2a)!.toString('hex');
  const unattended = ['14', '15', '16', '24', '25', '26', '34', '35', '36'].includes(ctx.terminal.terminalType);
  switch (condition) {
    case 0x00:
      return true;
    case 0x01:
      return unattended && type === '01';
    case 0x02:
      return !(unattended && type === '01') && type !== '17' && type !== '09';
    case 0x03:
      return terminalSupports(ctx, method);
    case 0x04:
      return !unattended && type === '17';
    case 0x05:
      return type === '09';
    case 0x06:
      return inAppCurrency && amount < x;
    case 0x07:
      return inAppCurrency && amount > x;
    case 0x08:
      return inAppCurrency && amount < y;
    case 0x09:
      return inAppCurrency && amount > y;
    default:
      return undefined;
  }
}

export async function cardholderVerification(ctx: TransactionContext): Promise<CvmOutcome> {
  const { tvr, tsi } = ctx;
  const aip = ctx.card.get(0x82)!;
  const noCvm = (): CvmOutcome => ({ results: Buffer.from([0x3f, 0x00, 0x00]), signatureRequired: false });
  // AIP bit "cardholder verification is supported" clear: no CVM, TSI untouched.
  if ((aip[0]! & 0x10) === 0) return noCvm();
  const list = ctx.card.get(0x8e);
  if (!list || list.length < 10) {
    tvr.set('iccDataMissing');
    return noCvm();
  }
  const x = list.readUInt32BE(0);
  const y = list.readUInt32BE(4);
  let last: [number, number] | undefined;
  let anyConditionMet = false;
  const finish = (outcome: CvmOutcome): CvmOutcome => {
    tsi.set('cardholderVerificationPerformed');
    ctx.terminalData.set(0x9f34, outcome.results);
    return outcome;
  };
  for (let pos = 8; pos + 1 < list.length; pos += 2) {
    const methodByte = list[pos]!;
    const condition = list[pos + 1]!;
    const method = methodByte & 0x3f;
    const met = conditionMet(ctx, condition, method, x, y);
    if (!met) continue;
    anyConditionMet = true;
    last = [methodByte, condition];
    const failed = (): boolean => (methodByte & APPLY_NEXT) !== 0; // true = go on with the next rule
    if (!KNOWN_METHODS.has(method)) {
      tvr.set('unrecognisedCvm');
      if (failed()) continue;
      break;
    }
    if (method === CVM.fail) break;
    if (!terminalSupports(ctx, method)) {
      if (isOfflinePin(method) || method === CVM.onlineEncipheredPin) tvr.set('pinPadNotPresentOrNotWorking');
      if (failed()) continue;
      break;
    }
    if (method === CVM.onlineEncipheredPin) {
      if (!ctx.terminal.pinPadPresent || !ctx.callbacks.requestOnlinePin) {
        tvr.set('pinPadNotPresentOrNotWorking');
        if (failed()) continue;
        break;
      }
      let block: Buffer | null;
      try {
        block = await ctx.callbacks.requestOnlinePin(ctx.pan() ?? '');
      } catch (error) {
        // A PIN pad that does not answer is not the card's fault: Book 3 10.5 sets "PIN pad
        // not present or not working" and the CVM list goes on (or ends per the rule's bit).
        if (!(error instanceof PinPadNotWorking)) throw error;
        tvr.set('pinPadNotPresentOrNotWorking');
        if (failed()) continue;
        break;
      }
      if (!block) {
        tvr.set('pinNotEntered');
        if (failed()) continue;
        break;
      }
      tvr.set('onlinePinEntered');
      // Online PIN: the result is "unknown" until the issuer checks it.
      return finish({
        results: Buffer.from([methodByte, condition, CVM_RESULT.unknown]),
        signatureRequired: false,
        pinBlock: block,
      });
    }
    if (method === CVM.signature)
      return finish({ results: Buffer.from([methodByte, condition, CVM_RESULT.unknown]), signatureRequired: true });
    if (method === CVM.noCvmRequired)
      return finish({ results: Buffer.from([methodByte, condition, CVM_RESULT.successful]), signatureRequired: false });
    // Offline plaintext PIN, with a PIN pad configured for it.
    const verified = await offlinePlaintextPin(ctx);
    if (verified === 'ok') {
      const withSignature = method === CVM.offlinePlaintextPinAndSignature;
      return finish({
        results: Buffer.from([methodByte, condition, withSignature ? CVM_RESULT.unknown : CVM_RESULT.successful]),
        signatureRequired: withSignature,
      });
    }
    if (failed()) continue;
    break;
  }
  tvr.set('cardholderVerificationNotSuccessful');
  if (!anyConditionMet || !last)
    return finish({ results: Buffer.from([0x3f, 0x00, CVM_RESULT.failed]), signatureRequired: false });
  return finish({ results: Buffer.from([last[0], last[1], CVM_RESULT.failed]), signatureRequired: false });
}

/** PIN try counter (9F17) by GET DATA; undefined when the card does not give it. */
async function pinTryCounter(ctx: TransactionContext): Promise<number | undefined> {
  const { data, sw } = await ctx.channel.send(commandApdu(0x80, 0xca, 0x9f, 0x17, undefined, 0x00));
  if (sw !== SW_OK) return undefined;
  try {
    return findTag(decodeTlv(data), 0x9f17)?.value[0];
  } catch {
    return undefined;
  }
}

/**
 * Book 3 10.5.1: check the try counter, ask the PIN pad, VERIFY (P2 = 80, plaintext).
 * 63Cx with x > 0 asks again; 63C0, 6983 and 6984 mean the try limit is exceeded.
 */
async function offlinePlaintextPin(ctx: TransactionContext): Promise<'ok' | 'failed'> {
  let tries = await pinTryCounter(ctx);
  if (tries === 0) {
    ctx.tvr.set('pinTryLimitExceeded');
    return 'failed';
  }
  for (;;) {
    const block = await ctx.callbacks.requestOfflinePinBlock!(tries);
    if (!block) {
      ctx.tvr.set('pinNotEntered');
      return 'failed';
    }
    const { sw } = await ctx.channel.send(commandApdu(0x00, 0x20, 0x00, 0x80, block));
    if (sw === SW_OK) return 'ok';
    if ((sw & 0xfff0) === 0x63c0 && (sw & 0x0f) > 0) {
      tries = sw & 0x0f;
      continue;
    }
    if ((sw & 0xfff0) === 0x63c0 || sw === 0x6983 || sw === 0x6984) ctx.tvr.set('pinTryLimitExceeded');
    return 'failed';
  }
}

/**
 * Thrown by `requestOnlinePin` when the PIN pad failed (no answer, link lost): the kernel sets
 * TVR byte 3 bit 5 ("PIN pad not present or not working") and goes on with the CVM list.
 */
export class PinPadNotWorking extends Error {
  override readonly name = 'PinPadNotWorking';
}
