/**
 * What the kernel is given (terminal configuration, the transaction, callbacks for the
 * things it does not do itself) and what it gives back. The kernel does no I/O: the
 * card channel, the PIN pad and the host are all injected.
 */
import type { Tlv } from '../tlv/index.js';
import type { CardTransmit } from './apdu.js';
import type { TsiBit, TvrBit } from './tvr.js';

/** One application the terminal supports (EMV Book 1 12.3.1 "list of AIDs"). */
export interface TerminalApplication {
  /** AID as hex (RID + PIX), e.g. A0000000031010. */
  aid: string;
  /** Allow partial name selection: a card AID that starts with this one matches. */
  partialSelection: boolean;
  /** Terminal's application version number (9F09) as hex, e.g. 0096. */
  applicationVersion: string;
  /** Terminal action codes as 10 hex digits each. */
  tacDenial: string;
  tacOnline: string;
  tacDefault: string;
  /** Floor limit in minor units (9F1B). */
  floorLimit: number;
  /** Random transaction selection (Book 3 10.6.2); percentages 0..99. */
  randomSelection?: { threshold: number; targetPercent: number; maxTargetPercent: number };
  /** Default TDOL as hex (used when the card has none and TDOL data is needed). */
  defaultTdol?: string;
  /** Default DDOL as hex (used when the card has none). */
  defaultDdol?: string;
}

/** A certification authority public key (Book 2 annex A) the terminal holds. */
export interface CaPublicKey {
  rid: string;
  /** Index as two hex digits (tag 8F). */
  index: string;
  modulus: string;
  exponent: string;
  /** YYMMDD after which the key must not be used; '000000' = no expiry recorded. */
  expiry: string;
}

/** A revoked issuer certificate: RID + CA index + certificate serial number (hex). */
export interface RevokedCertificate {
  rid: string;
  index: string;
  serial: string;
}

export interface TerminalConfig {
  /** 9F1A numeric country code, e.g. '0840'. */
  countryCode: string;
  /** 9F33 terminal capabilities, hex (3 bytes). */
  capabilities: string;
  /** 9F40 additional terminal capabilities, hex (5 bytes). */
  additionalCapabilities: string;
  /** 9F35 terminal type, e.g. '22' (attended, offline with online capability, merchant). */
  terminalType: string;
  terminalId: string;
  merchantId?: string;
  /** 9F15, 4 digits (ISO 18245), e.g. '4215' courier services. */
  merchantCategoryCode?: string;
  /** 9F1E interface device serial number: up to 8 letters or digits (padded to 8 with spaces). */
  ifdSerialNumber?: string;
  /**
   * IANA time zone of the terminal's clock (e.g. 'Asia/Tokyo'): 9A and 9F21, and so the
   * expiry, effective-date and CA key checks, are its wall clock at the transaction's
   * instant. Absent: UTC (the daemon always sets it from `terminal.timeZone`).
   */
  timeZone?: string;
  applications: TerminalApplication[];
  caKeys: CaPublicKey[];
  revokedCertificates?: RevokedCertificate[];
  /** PANs (digits) on the terminal exception file. */
  exceptionFile?: string[];
  /** Whether the terminal can go online at all (false = offline-only). */
  onlineCapable: boolean;
  /** A PIN pad that can do offline plaintext/enciphered PIN is attached. Default false. */
  offlinePinSupported?: boolean;
  /** Whether an online PIN pad is present and working. */
  pinPadPresent: boolean;
}

export interface TransactionInput {
  /** Amount in minor units. */
  amount: number;
  otherAmount?: number;
  /** 5F2A numeric currency code, e.g. '0840'. */
  currencyCode: string;
  currencyExponent?: number;
  /** 9C transaction type: '00' goods and services, '01' cash, '09' cashback, '20' refund. */
  transactionType: string;
  /** Transaction date and time (the terminal clock). */
  date: Date;
  /** 9F41 sequence counter. */
  sequenceCounter: number;
  /** 4 bytes; injected so tests and the host simulator are reproducible. */
  unpredictableNumber: Buffer;
  /** Merchant forced online (TVR B4b4). */
  forceOnline?: boolean;
}

/** Answer of the host to an online authorisation request. */
export interface HostAnswer {
  /** approved / declined by the issuer, or `unable` = no answer (timeout, link down). */
  result: 'approved' | 'declined' | 'unable';
  /** Authorisation response code (tag 8A), two characters, e.g. '00', '05'. */
  responseCode?: string;
  authorisationCode?: string;
  /** Issuer authentication data (tag 91). */
  issuerAuthenticationData?: Buffer;
  /** Issuer script templates 71/72, encoded (one or more). */
  issuerScripts?: Buffer;
}

export interface OnlineRequest {
  /**
   * ICC data for the authorisation's DE55, as it stood at the first GENERATE AC (ARQC).
   * The chip data after the second GENERATE AC is `KernelResult.finalIccData`.
   */
  de55: Tlv[];
  pan: string;
  panSequenceNumber?: string;
  /**
   * Track 2 equivalent data (tag 57) as DE35 text: digits with `=` as the separator, the F
   * pad removed. Absent when the card has no tag 57 or one that does not parse. Track data:
   * for the live request only, never stored, logged or put in a later message.
   */
  track2?: string;
  /** YYMM from 5F24. */
  expiry?: string;
  /** The online PIN block if the cardholder entered one. */
  pinBlock?: Buffer;
}

export interface CandidateApplication {
  aid: Buffer;
  label?: string;
  preferredName?: string;
  /** Tag 87 value (0 when absent). */
  priorityIndicator: number;
  /** Index into TerminalConfig.applications. */
  terminalIndex: number;
}

export interface KernelCallbacks {
  /** Cardholder confirmation of an application whose tag 87 bit 8 is set; absent = cannot confirm. */
  confirmApplication?: (candidate: CandidateApplication) => boolean | Promise<boolean>;
  /**
   * Online PIN entry on the PIN pad; resolves with the PIN block, or null when bypassed.
   * Throws PinPadNotWorking (cvm.ts) when the PIN pad failed: the CVM list goes on.
   */
  requestOnlinePin?: (pan: string) => Promise<Buffer | null> | Buffer | null;
  /**
   * Offline plaintext PIN (only with `offlinePinSupported`): the PIN pad's ISO 9564
   * format 2 block for VERIFY, or null when the cardholder bypassed entry. `triesLeft`
   * is the card's PIN try counter when known.
   */
  requestOfflinePinBlock?: (triesLeft: number | undefined) => Promise<Buffer | null> | Buffer | null;
  /** The host call: one authorisation request, one answer (or `unable`). */
  goOnline: (request: OnlineRequest) => Promise<HostAnswer> | HostAnswer;
  /** Random number 1..99 for random transaction selection. Default: node:crypto. */
  random?: () => number;
  /**
   * The card's PAN, expiry (YYMMDD) and sequence number, once its records are read: what
   * the payment flow journals and puts in an advice when the card approves offline. A
   * callback, not a result field, so the PAN never rides on a result that may be logged.
   */
  cardRead?: (card: CardIdentity) => void;
}

export interface CardIdentity {
  pan: string;
  expiry?: string;
  panSequenceNumber?: string;
}

export interface KernelInput {
  transmit: CardTransmit;
  terminal: TerminalConfig;
  transaction: TransactionInput;
  callbacks: KernelCallbacks;
}

export type Outcome = 'approved' | 'declined' | 'terminated' | 'not-accepted';

export interface ScriptResult {
  /** 5 bytes per script: result nibble + sequence, script identifier. */
  value: Buffer;
  template: 0x71 | 0x72;
  ok: boolean;
}

export interface KernelResult {
  outcome: Outcome;
  /** Why, in words a technician can act on: 'offline-approved', 'issuer-declined', 'unable-to-go-online-declined', ... */
  reason: string;
  /** Whether the host was asked. */
  online: boolean;
  /** Authorisation response code (8A): from the host, or Y1/Z1/Y3/Z3 made by the terminal. */
  responseCode?: string;
  tvr: Buffer;
  tsi: Buffer;
  tvrBits: TvrBit[];
  tsiBits: TsiBit[];
  /** CID of the last GENERATE AC, and its cryptogram. */
  cid?: number;
  cryptogram?: Buffer;
  /** 'SDA' | 'DDA' | 'CDA' | 'none' */
  odaMethod: OdaMethod;
  /** CVM results (9F34). */
  cvmResults?: Buffer;
  signatureRequired: boolean;
  /**
   * The chip data as it stands at the end of the session (after the second GENERATE AC when
   * there was one): 9F26/9F27 of the last cryptogram (TC or AAC), the final TVR (95, with the
   * issuer authentication and script bits) and TSI (9B), 9F36, and 9F5B when issuer scripts
   * ran. What the advice, the completion advice (TC), the batch upload and a reversal after
   * the card's answer carry. The authorisation's DE55 is `OnlineRequest.de55`.
   */
  de55: Tlv[];
  /** `de55` encoded as DE55 bytes. */
  finalIccData: Buffer;
  scriptResults: ScriptResult[];
  receipt?: {
    aid: string;
    label?: string;
    maskedPan: string;
    tvr: string;
    tsi: string;
  };
}

export type OdaMethod = 'SDA' | 'DDA' | 'CDA' | 'none';
