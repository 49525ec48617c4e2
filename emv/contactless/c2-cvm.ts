/**
 * Cardholder verification of the Mastercard-style kernel (EMV Contactless Book C-2): a phone
 * that verifies its owner itself (on-device CVM, AIP byte 1 bit 2) is trusted above the reader
 * CVM required limit; otherwise the card's CVM list is processed against what the terminal can
 * do: above the limit online PIN (with a PIN pad) and signature, under it only "no CVM". Pure:
 * gives the outcome's CVM, the CVM results (9F34) and the TVR bits to set.
 */
import type { TvrBit } from '../kernel/tvr.js';
import type { OutcomeCvm } from './types.js';

export interface C2CvmInput {
  aip: Buffer;
  /** Tag 8E, absent when the card sent none. */
  cvmList: Buffer | undefined;
  cvmRequiredLimitExceeded: boolean;
  /** Amount authorised in minor units, for the list's X and Y conditions. */
  amount: number;
  transactionType: string;
  /** Terminal type (9F35) as hex: second digit 4..6 = unattended. */
  terminalType: string;
  /** The terminal can take an online PIN (PIN pad present and a PIN entry callback). */
  onlinePinSupported: boolean;
  signatureSupported: boolean;
  /** Kernel setting: on-device cardholder verification accepted. */
  onDeviceCvmSupported: boolean;
}

export interface C2CvmDecision {
  cvm: OutcomeCvm;
  cvmResults: Buffer;
  tvrBits: TvrBit[];
}

const AIP_ON_DEVICE_CVM = 0x02;
const AIP_CARDHOLDER_VERIFICATION = 0x10;
const CVM_FAIL = 0x00;
const CVM_ONLINE_PIN = 0x02;
const CVM_SIGNATURE = 0x1e;
const CVM_NO_CVM = 0x1f;
/** CVM codes the books define (Book 3 C3); a code outside these is "unrecognised CVM". */
const KNOWN_CVMS = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, CVM_SIGNATURE, CVM_NO_CVM]);
const RESULT_UNKNOWN = 0x00;
const RESULT_FAILED = 0x01;
const RESULT_SUCCESSFUL = 0x02;

export function selectC2Cvm(input: C2CvmInput): C2CvmDecision {
  const aip1 = input.aip[0] ?? 0;
  if (input.onDeviceCvmSupported && (aip1 & AIP_ON_DEVICE_CVM) !== 0) {
    // The phone verified its owner: "confirmation code verified" above the limit, no CVM under it.
    return input.cvmRequiredLimitExceeded
      ? { cvm: 'confirmation-code-verified', cvmResults: Buffer.from('010002', 'hex'), tvrBits: [] }
      : { cvm: 'no-cvm', cvmResults: Buffer.from('3F0002', 'hex'), tvrBits: [] };
  }
  if ((aip1 & AIP_CARDHOLDER_VERIFICATION) === 0)
    return { cvm: 'no-cvm', cvmResults: Buffer.from('3F0000', 'hex'), tvrBits: [] };
  const list = input.cvmList;
  if (list === undefined || list.length < 10)
    return { cvm: 'no-cvm', cvmResults: Buffer.from('3F0000', 'hex'), tvrBits: ['iccDataMissing'] };
  const supported = (code: number): boolean =>
    input.cvmRequiredLimitExceeded
      ? (code === CVM_ONLINE_PIN && input.onlinePinSupported) || (code === CVM_SIGNATURE && input.signatureSupported)
      : code === CVM_NO_CVM;
  const x = list.readUInt32BE(0);
  const y = list.readUInt32BE(4);
  const tvrBits: TvrBit[] = [];
  for (let at = 8; at + 1 < list.length; at += 2) {
    const rule = list[at]!;
    const condition = list[at + 1]!;
    const code = rule & 0x3f;
    const applyNextIfUnsuccessful = (rule & 0x40) !== 0;
    if (!conditionMet(condition, code, input, supported, x, y)) continue;
    if (!KNOWN_CVMS.has(code)) {
      tvrBits.push('unrecognisedCvm');
      if (applyNextIfUnsuccessful) continue;
      break;
    }
    if (code === CVM_FAIL) return failed(rule, condition, tvrBits);
    if (!supported(code)) {
      if (applyNextIfUnsuccessful) continue;
      break;
    }
    if (code === CVM_ONLINE_PIN)
      return {
        cvm: 'online-pin',
        cvmResults: Buffer.from([rule, condition, RESULT_UNKNOWN]),
        tvrBits: [...tvrBits, 'onlinePinEntered'],
      };
    if (code === CVM_SIGNATURE)
      return { cvm: 'signature', cvmResults: Buffer.from([rule, condition, RESULT_UNKNOWN]), tvrBits };
    return { cvm: 'no-cvm', cvmResults: Buffer.from([rule, condition, RESULT_SUCCESSFUL]), tvrBits };
  }
  return failed(0x3f, 0x00, tvrBits);
}

function failed(rule: number, condition: number, tvrBits: TvrBit[]): C2CvmDecision {
  return {
    cvm: 'no-cvm',
    cvmResults: Buffer.from([rule, condition, RESULT_FAILED]),
    tvrBits: [...tvrBits, 'cardholderVerificationNotSuccessful'],
  };
}

/** CVM condition codes (Book 3 C3). */
function conditionMet(
  condition: number,
  code: number,
  input: C2CvmInput,
  supported: (code: number) => boolean,
  x: number,
  y: number,
): boolean {
  const cash = input.transactionType === '01';
  const cashback = input.transactionType === '09';
  const unattended = ['4', '5', '6'].includes(input.terminalType[1] ?? '');
  switch (condition) {
    case 0x00:
      return true;
    case 0x01:
      return cash && unattended;
    case 0x02:
      return !cash && !cashback;
    case 0x03:
      return supported(code);
    case 0x04:
      return cash && !unattended;
    case 0x05:
      return cashback;
    case 0x06:
      return input.amount < x;
    case 0x07:
      return input.amount > x;
    case 0x08:
      return input.amount < y;
    case 0x09:
      return input.amount > y;
    default:
      return false;
  }
}
