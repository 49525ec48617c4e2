/**
 * The state of one transaction while the kernel runs it: card data gathered from the
 * FCI, GPO and records; terminal data; the live TVR and TSI; the card channel. Each
 * step of the flow reads and writes this, never globals.
 */
import { PosError } from '../../config/errors.js';
import { isTimeZone, wallClock, type WallClock } from '../../config/local-time.js';
import type { Tlv } from '../tlv/index.js';
import { CardChannel } from './apdu.js';
import { buildDolData } from './dol.js';
import { newTsi, newTvr, type BitField, type TsiBit, type TvrBit } from './tvr.js';
import type { KernelCallbacks, TerminalApplication, TerminalConfig, TransactionInput } from './types.js';

export class TransactionContext {
  readonly tvr: BitField<TvrBit> = newTvr();
  readonly tsi: BitField<TsiBit> = newTsi();
  /** Data from the card (FCI, GPO, records, GENERATE AC), by tag. */
  readonly card = new Map<number, Buffer>();
  /** Terminal and transaction data, by tag. */
  readonly terminalData = new Map<number, Buffer>();
  /** Static data to authenticate (records flagged by the AFL + 9F4A), built while reading. */
  odaInput: Buffer = Buffer.alloc(0);
  /** A record meant for ODA was not a 70 template: ODA will fail (Book 3 10.3). */
  odaRecordsMalformed = false;
  pdolData: Buffer = Buffer.alloc(0);
  cdol1Data?: Buffer;
  application?: TerminalApplication;
  aid?: Buffer;

  constructor(
    readonly channel: CardChannel,
    readonly terminal: TerminalConfig,
    readonly transaction: TransactionInput,
    readonly callbacks: KernelCallbacks,
  ) {
    checkTransaction(transaction);
    checkTerminal(terminal);
    // 9A and 9F21 are the terminal's wall clock, not UTC: a sale at 22:30 UTC in Tokyo is
    // dated the next day, and the expiry and effective-date checks read the same 9A.
    const local = wallClock(transaction.date, terminal.timeZone ?? 'UTC');
    const t = this.terminalData;
    t.set(0x9f02, bcd(transaction.amount, 6, 'amount'));
    t.set(0x81, uint(transaction.amount, 4));
    t.set(0x9f03, bcd(transaction.otherAmount ?? 0, 6, 'otherAmount'));
    t.set(0x9f04, uint(transaction.otherAmount ?? 0, 4));
    t.set(0x5f2a, Buffer.from(transaction.currencyCode.padStart(4, '0'), 'hex'));
    t.set(0x5f36, bcd(transaction.currencyExponent ?? 2, 1, 'currencyExponent'));
    t.set(0x9c, Buffer.from(transaction.transactionType, 'hex'));
    t.set(0x9a, yymmdd(local));
    t.set(0x9f21, hhmmss(local));
    t.set(0x9f37, Buffer.from(transaction.unpredictableNumber));
    t.set(0x9f41, bcd(transaction.sequenceCounter, 4, 'sequenceCounter'));
    t.set(0x9f1a, Buffer.from(terminal.countryCode.padStart(4, '0'), 'hex'));
    t.set(0x9f33, Buffer.from(terminal.capabilities, 'hex'));
    t.set(0x9f40, Buffer.from(terminal.additionalCapabilities, 'hex'));
    t.set(0x9f35, Buffer.from(terminal.terminalType, 'hex'));
    t.set(0x9f1c, Buffer.from(terminal.terminalId.padEnd(8, ' ').slice(0, 8), 'latin1'));
    if (terminal.merchantId) t.set(0x9f16, Buffer.from(terminal.merchantId.padEnd(15, ' ').slice(0, 15), 'latin1'));
    if (terminal.merchantCategoryCode) t.set(0x9f15, Buffer.from(terminal.merchantCategoryCode, 'hex'));
    if (terminal.ifdSerialNumber)
      t.set(0x9f1e, Buffer.from(terminal.ifdSerialNumber.padEnd(8, ' ').slice(0, 8), 'latin1'));
    t.set(0x9f39, Buffer.from('05', 'hex'));
    t.set(0x9f34, Buffer.from('3F0000', 'hex'));
    t.set(0x8a, Buffer.alloc(2));
    // Live views: DOLs read the current TVR and TSI.
    t.set(0x95, this.tvr.bytes);
    t.set(0x9b, this.tsi.bytes);
  }

  /** Terminal data first for terminal-sourced tags, then card data. */
  lookup = (tag: number): Buffer | undefined => this.terminalData.get(tag) ?? this.card.get(tag);

  dolData(dol: Buffer): Buffer {
    return buildDolData(dol, this.lookup);
  }

  /** Adds card data, refusing a second occurrence of the same tag (Book 3 7.5: terminate). */
  addCardData(items: Tlv[], source: string): void {
    for (const item of items) {
      if (item.children) {
        this.addCardData(item.children, source);
        continue;
      }
      if (this.card.has(item.tag) && source === 'record') {
        throw new PosError(
          'CODPOS_EMV_DUPLICATE_DATA',
          `card sent tag ${item.tag.toString(16).toUpperCase()} twice in its records`,
          { details: { tag: item.tag.toString(16).toUpperCase() } },
        );
      }
      this.card.set(item.tag, item.value);
    }
  }

  pan(): string | undefined {
    const v = this.card.get(0x5a);
    return v?.toString('hex').toUpperCase().replace(/F+$/, '');
  }

  /** The transaction date as YYMMDD digits. */
  dateDigits(): string {
    return this.terminalData.get(0x9a)!.toString('hex');
  }
}

/**
 * The fields the kernel turns into tags, checked first: a bad one is a PosError naming
 * it (a negative amount or an invalid Date would otherwise surface as a RangeError).
 */
function checkTransaction(tx: TransactionInput): void {
  const bad = (field: string, want: string) =>
    new PosError('CODPOS_EMV_BAD_TRANSACTION', `transaction ${field} must be ${want}`, { details: { field } });
  if (typeof tx.currencyCode !== 'string' || !/^[0-9]{1,4}$/.test(tx.currencyCode))
    throw bad('currencyCode', 'up to 4 digits (5F2A)');
  if (typeof tx.transactionType !== 'string' || !/^[0-9]{2}$/.test(tx.transactionType))
    throw bad('transactionType', '2 digits (9C)');
  if (!(tx.date instanceof Date) || Number.isNaN(tx.date.getTime())) throw bad('date', 'a valid Date');
  if (!Buffer.isBuffer(tx.unpredictableNumber) || tx.unpredictableNumber.length !== 4)
    throw bad('unpredictableNumber', 'a Buffer of 4 bytes (9F37)');
}

/**
 * The terminal settings the kernel turns into tags and that no type can check: a bad one is
 * a PosError naming it before any APDU (an unknown zone would otherwise be Intl's RangeError).
 */
function checkTerminal(terminal: TerminalConfig): void {
  const bad = (field: string, want: string) =>
    new PosError('CODPOS_EMV_BAD_TERMINAL', `terminal ${field} must be ${want}`, { details: { field } });
  if (terminal.timeZone !== undefined && !isTimeZone(terminal.timeZone))
    throw bad('timeZone', `an IANA time zone name such as Europe/Berlin (got ${JSON.stringify(terminal.timeZone)})`);
  if (terminal.merchantCategoryCode !== undefined && !/^[0-9]{4}$/.test(terminal.merchantCategoryCode))
    throw bad('merchantCategoryCode', '4 digits (9F15)');
  if (terminal.ifdSerialNumber !== undefined && !/^[0-9A-Za-z]{1,8}$/.test(terminal.ifdSerialNumber))
    throw bad('ifdSerialNumber', 'up to 8 letters or digits (9F1E)');
}

/** A whole number >= 0 as BCD of `bytes` bytes; anything else is CODPOS_EMV_BAD_AMOUNT naming the field. */
export function bcd(value: number, bytes: number, field = 'value'): Buffer {
  const digits = Number.isSafeInteger(value) && value >= 0 ? String(value).padStart(bytes * 2, '0') : '';
  if (digits === '' || digits.length > bytes * 2) {
    throw new PosError(
      'CODPOS_EMV_BAD_AMOUNT',
      `${field} must be a whole number from 0 to ${'9'.repeat(bytes * 2)} (got ${value})`,
      { details: { field, value: String(value) } },
    );
  }
  return Buffer.from(digits, 'hex');
}

export function uint(value: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(Math.min(value, 2 ** (8 * bytes) - 1), 0, bytes);
  return out;
}

function yymmdd(local: WallClock): Buffer {
  return Buffer.from(two(local.year % 100) + two(local.month) + two(local.day), 'hex');
}

function hhmmss(local: WallClock): Buffer {
  return Buffer.from(two(local.hour) + two(local.minute) + two(local.second), 'hex');
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** YYMMDD -> comparable number with the EMV year window (YY < 50 = 20YY). */
export function dateValue(yymmdd: string): number {
  const yy = Number(yymmdd.slice(0, 2));
  const year = yy < 50 ? 2000 + yy : 1900 + yy;
  return year * 10000 + Number(yymmdd.slice(2, 6));
}
