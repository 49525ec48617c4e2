/**
 * The Mastercard-style contactless kernel (EMV Contactless Book C-2, M/Chip): activated by
 * Entry Point with the FCI of the selected AID, it runs the card in one tap:
 * GET PROCESSING OPTIONS with the PDOL; the relay resistance protocol when card and terminal
 * both support it (timed with an injected clock); READ RECORD over the AFL; CDA key recovery;
 * processing restrictions; CVM (on-device for phones, else the card's CVM list against the
 * limits); terminal action analysis with the combination's TACs and the card's IACs; one
 * GENERATE AC with CDA; and the outcome (Book A 6.2).
 *
 * Outcomes are data: a decline, a refused mag-stripe card, a card that left the field are
 * outcomes, not errors. Only a bad terminal configuration or transaction is a PosError (from
 * TransactionContext's checks), before any APDU.
 */
import { PosError } from '../../config/errors.js';
import { decodeTlv, encodeTlv, findTag, type Tlv } from '../tlv/index.js';
import { CardChannel, commandApdu, SW_OK, swHex, type CardResponse } from '../kernel/apdu.js';
import { TransactionContext, dateValue } from '../kernel/context.js';
import { recoverIccPublicKey, recoverIssuerPublicKey, verifyCdaSignature, type IccPublicKey } from '../crypto/oda.js';
import { parseTrack2Equivalent } from '../magstripe/track.js';
import type { KernelCallbacks, OnlineRequest } from '../kernel/types.js';
import { selectC2Cvm, type C2CvmDecision } from './c2-cvm.js';
import {
  judgeRelayResistance,
  measuredProcessingTime,
  parseDeviceRelayResistanceData,
  type TerminalRelayResistanceSettings,
} from './c2-relay-resistance.js';
import type { ContactlessKernel, ContactlessOutcome, KernelActivation, OutcomeCvm, UiRequest } from './types.js';

export interface KernelC2Options {
  /**
   * A monotonic clock in microseconds, read around EXCHANGE RELAY RESISTANCE DATA: the reader's
   * timer in production (default: process.hrtime), a manual clock in tests.
   */
  clockMicros?: () => number;
  /** The terminal's expected transmission times of the relay resistance command and response (100 us units). */
  expectedCommandTransmissionTime?: number;
  expectedResponseTransmissionTime?: number;
  /** Whether a phone's own cardholder verification is accepted (default true). */
  onDeviceCvmSupported?: boolean;
  /** Torn transaction log: how many records it keeps (default 5) and for how long (default 300 s of transaction time). */
  maxTornRecords?: number;
  tornLifetimeSeconds?: number;
}

const TORN_NOTE = ' (the AC of a torn transaction, recovered with RECOVER AC)';

/** What one GENERATE AC asked and sent: kept with a torn transaction, for RECOVER AC's answer. */
interface GenerateAcAttempt {
  decision: Decision;
  cdaRequested: boolean;
  pdolData: Buffer;
  cdol1Data: Buffer;
  relayExchanged?: Buffer;
  cvm: C2CvmDecision;
}

interface TornRecord {
  pan: string;
  sequence: string | undefined;
  /** The DRDOL (9F51) data of the torn transaction: RECOVER AC's command data. */
  drdolData: Buffer;
  attempt: GenerateAcAttempt;
  /** The terminal data as sent (TVR, amounts, unpredictable number): the recovered AC is over them. */
  snapshot: Map<number, Buffer>;
  /** Transaction time (ms) of the torn transaction. */
  at: number;
}

/** Tags of the kernel's data record: what DE55 of the authorisation and the clearing record carry. */
export const C2_DATA_RECORD_TAGS = [
  0x9f26, 0x9f27, 0x9f10, 0x9f37, 0x9f36, 0x95, 0x9a, 0x9c, 0x9f02, 0x5f2a, 0x82, 0x9f1a, 0x9f03, 0x9f33, 0x9f34,
  0x9f35, 0x84, 0x9f09, 0x9f1e, 0x9f41, 0x5f34, 0x9f6e, 0xdf4b,
] as const;

/** TVR byte 5 bits of C-2's relay resistance protocol. */
const TVR5_RR_THRESHOLD_EXCEEDED = 0x08;
const TVR5_RR_TIME_LIMITS_EXCEEDED = 0x04;
const TVR5_RR_NOT_PERFORMED = 0x01;
const TVR5_RR_PERFORMED = 0x02;

const AIP1_CDA = 0x01;
const AIP2_EMV_MODE = 0x80;
const AIP2_RELAY_RESISTANCE = 0x01;
/** How many times EXCHANGE RELAY RESISTANCE DATA is sent again when it was too slow. */
const RELAY_RESISTANCE_RETRIES = 2;

type Decision = 'AAC' | 'TC' | 'ARQC';
const P1: Record<Decision, number> = { AAC: 0x00, TC: 0x40, ARQC: 0x80 };

/** The card left the field (the transmit function threw): try again, present the card. */
class CardLeftField extends Error {}

/** The card's data do not allow the transaction to go on: end application. */
class CardDataError extends Error {}

export class KernelC2 implements ContactlessKernel {
  readonly id = 2 as const;
  private readonly clockMicros: () => number;
  private readonly onDeviceCvmSupported: boolean;
  private readonly expectedCommandTransmissionTime: number;
  private readonly expectedResponseTransmissionTime: number;
  private readonly maxTornRecords: number;
  private readonly tornLifetimeSeconds: number;
  private tornLog: TornRecord[] = [];

  constructor(options: KernelC2Options = {}) {
    this.clockMicros = options.clockMicros ?? (() => Number(process.hrtime.bigint() / 1000n));
    this.onDeviceCvmSupported = options.onDeviceCvmSupported ?? true;
    this.expectedCommandTransmissionTime = options.expectedCommandTransmissionTime ?? 18;
    this.expectedResponseTransmissionTime = options.expectedResponseTransmissionTime ?? 18;
    this.maxTornRecords = options.maxTornRecords ?? 5;
    this.tornLifetimeSeconds = options.tornLifetimeSeconds ?? 300;
  }

  async activate(activation: KernelActivation): Promise<ContactlessOutcome> {
    const transmit = activation.transmit;
    const channel = new CardChannel(async (apdu) => {
      try {
        return await transmit(apdu);
      } catch (cause) {
        throw new CardLeftField(cause instanceof Error ? cause.message : String(cause));
      }
    });
    // The contactless kernel hands the online request to Entry Point in its outcome: it never calls a host.
    const callbacks: KernelCallbacks = {
      ...activation.callbacks,
      goOnline: () => ({ result: 'unable' }),
    };
    const ctx = new TransactionContext(channel, activation.terminal, activation.transaction, callbacks);
    try {
      return await this.run(ctx, activation);
    } catch (error) {
      if (error instanceof CardLeftField) return cardLeftField(ctx, error.message);
      if (error instanceof CardDataError) return endApplication(ctx, error.message);
      if (error instanceof PosError && error.code === 'CODPOS_EMV_BAD_RESPONSE')
        return endApplication(ctx, error.message);
      if (error instanceof PosError && error.area === 'TLV')
        return endApplication(ctx, `card data do not parse: ${error.message}`);
      throw error;
    }
  }

  private async run(ctx: TransactionContext, activation: KernelActivation): Promise<ContactlessOutcome> {
    const { combination, indicators, transaction } = activation;
    const fci = parseFci(activation.fci);
    ctx.aid = fci.aid;
    ctx.card.set(0x84, fci.aid);
    if (combination.applicationVersion)
      ctx.terminalData.set(0x9f09, Buffer.from(combination.applicationVersion, 'hex'));
    ctx.terminalData.set(0x9f1d, this.riskManagementData(activation));
    if (indicators.floorLimitExceeded) ctx.tvr.set('exceedsFloorLimit');
    if (transaction.forceOnline) ctx.tvr.set('merchantForcedOnline');

    // GET PROCESSING OPTIONS.
    ctx.pdolData = fci.pdol ? ctx.dolData(fci.pdol) : Buffer.alloc(0);
    const gpo = await ctx.channel.send(
      commandApdu(0x80, 0xa8, 0x00, 0x00, encodeTlv([{ tag: 0x83, value: ctx.pdolData }]), 0x00),
    );
    if (gpo.sw !== SW_OK)
      return outcome(ctx, 'select-next', {
        start: 'C',
        reason: `GET PROCESSING OPTIONS answered ${swHex(gpo.sw)}: select the next combination`,
      });
    const { aip, afl } = parseGpo(gpo.data);
    ctx.card.set(0x82, aip);
    ctx.card.set(0x94, afl);

    // Mag-stripe mode (the card has no EMV mode).
    if ((aip[1]! & AIP2_EMV_MODE) === 0) {
      if (combination.magStripeModeSupported)
        return endApplication(
          ctx,
          'the card offers only mag-stripe mode and this kernel does not implement it (COMPUTE CRYPTOGRAPHIC CHECKSUM)',
        );
      return outcome(ctx, 'try-another-interface', {
        alternateInterface: 'contact-chip',
        uiRequestOnOutcome: { message: 'insert-card', status: 'processing-error' },
        reason: 'mag-stripe mode refused by the combination (magStripeModeSupported is off): insert the card',
      });
    }

    // Relay resistance.
    const relay = await this.relayResistance(ctx, activation, aip);
    if (relay.failed) return endApplication(ctx, relay.failed);

    // READ RECORD over the AFL; the records flagged for ODA are the static data CDA signs over.
    const staticData = await readRecords(ctx, afl);
    for (const tag of [0x5a, 0x5f24, 0x8c]) {
      if (!ctx.card.has(tag)) {
        ctx.tvr.set('iccDataMissing');
        return endApplication(ctx, `the card has no tag ${tag.toString(16).toUpperCase()} in its records`);
      }
    }
    const pan = ctx.pan()!;
    const expiry = ctx.card.get(0x5f24)!.toString('hex');
    const sequence = ctx.card.get(0x5f34)?.toString('hex');
    activation.callbacks.cardRead?.({
      pan,
      expiry,
      ...(sequence !== undefined ? { panSequenceNumber: sequence } : {}),
    });

    // Offline data authentication: CDA keys now, the signature on the GENERATE AC answer.
    const cda = (aip[0]! & AIP1_CDA) !== 0 ? recoverCdaKey(ctx, staticData, aip) : undefined;
    if (cda === undefined) ctx.tvr.set('offlineDataAuthenticationNotPerformed');
    else if (!cda.key) ctx.tvr.set('cdaFailed');

    // Processing restrictions: dates and application versions.
    const today = dateValue(ctx.dateDigits());
    if (dateValue(expiry) < today) ctx.tvr.set('expiredApplication');
    const effective = ctx.card.get(0x5f25)?.toString('hex');
    if (effective !== undefined && dateValue(effective) > today) ctx.tvr.set('applicationNotYetEffective');
    const cardVersion = ctx.card.get(0x9f08);
    const terminalVersion = ctx.terminalData.get(0x9f09);
    if (cardVersion && terminalVersion && !cardVersion.equals(terminalVersion))
      ctx.tvr.set('differentApplicationVersions');

    // Cardholder verification.
    const capabilities = Buffer.from(activation.terminal.capabilities, 'hex');
    const cvmDecision = selectC2Cvm({
      aip,
      cvmList: ctx.card.get(0x8e),
      cvmRequiredLimitExceeded: indicators.cvmRequiredLimitExceeded,
      amount: transaction.amount,
      transactionType: transaction.transactionType,
      terminalType: activation.terminal.terminalType,
      onlinePinSupported:
        activation.terminal.pinPadPresent &&
        activation.callbacks.requestOnlinePin !== undefined &&
        (capabilities[1]! & 0x40) !== 0,
      signatureSupported: (capabilities[1]! & 0x20) !== 0,
      onDeviceCvmSupported: this.onDeviceCvmSupported,
    });
    for (const bit of cvmDecision.tvrBits) ctx.tvr.set(bit);
    ctx.terminalData.set(0x9f34, cvmDecision.cvmResults);

    // Terminal action analysis.
    const decision = terminalActionAnalysis(ctx, activation, cvmDecision.cvm);

    // GENERATE AC, with CDA when the keys were recovered; or RECOVER AC of a torn transaction.
    let attempt: GenerateAcAttempt = {
      decision,
      cdaRequested: cda?.key !== undefined && decision !== 'AAC',
      pdolData: ctx.pdolData,
      cdol1Data: ctx.dolData(ctx.card.get(0x8c)!),
      ...(relay.exchanged ? { relayExchanged: relay.exchanged } : {}),
      cvm: cvmDecision,
    };
    const drdol = ctx.card.get(0x9f51);
    const torn = drdol ? await this.recoverTorn(ctx, pan, sequence) : undefined;
    if (torn) attempt = torn.attempt;
    const recovered = torn !== undefined;
    const response =
      torn?.response ??
      (await ctx.channel
        .send(
          commandApdu(
            0x80,
            0xae,
            P1[attempt.decision] | (attempt.cdaRequested ? 0x10 : 0x00),
            0x00,
            attempt.cdol1Data,
            0x00,
          ),
        )
        .catch((error: unknown) => {
          // The card may have computed its AC before it left: keep what RECOVER AC needs (Book C-2 torn transactions).
          if (error instanceof CardLeftField && drdol) this.keepTorn(ctx, attempt, pan, sequence, ctx.dolData(drdol));
          throw error;
        }));
    const { decision: asked, cdaRequested, cdol1Data, cvm } = attempt;
    if (response.sw !== SW_OK) return endApplication(ctx, `GENERATE AC answered ${swHex(response.sw)}`);
    const answer = parseGenerateAc(response.data);
    for (const item of answer.items) ctx.card.set(item.tag, item.value);
    const cidType = answer.cid & 0xc0;
    const cardDecision: Decision = cidType === 0x80 ? 'ARQC' : cidType === 0x40 ? 'TC' : 'AAC';
    if (cidType === 0xc0 || RANK[cardDecision] > RANK[asked])
      return endApplication(ctx, `the card answered ${cardDecision} where ${asked} was asked`);

    const odaFailed = cda !== undefined && !cda.key;
    if (cdaRequested && cardDecision !== 'AAC') {
      const key = cda?.key;
      const verified = key
        ? verifyCda(ctx, key, answer, attempt.pdolData, cdol1Data, attempt.relayExchanged)
        : { ok: false as const, failure: 'CDA keys not recovered' };
      if (!verified.ok) {
        ctx.tvr.set('cdaFailed');
        return decline(ctx, cvm, answer.cid, `CDA failed: ${verified.failure}`, 'CDA', true);
      }
      ctx.card.set(0x9f26, verified.cryptogram);
    }
    if (!ctx.card.has(0x9f26)) return endApplication(ctx, 'the GENERATE AC answer has no cryptogram (9F26)');

    const oda = cda === undefined ? ('none' as const) : ('CDA' as const);
    if (cardDecision === 'AAC') return decline(ctx, cvm, answer.cid, 'the card declined (AAC)', oda, odaFailed);
    const base = {
      cvm: cvm.cvm,
      cvmResults: cvm.cvmResults,
      cid: answer.cid,
      oda,
      odaFailed,
      receipt: true,
    };
    if (cardDecision === 'TC')
      return outcome(ctx, 'approved', {
        ...base,
        uiRequestOnOutcome: { message: 'approved', status: 'card-read-successfully', holdTimeMs: 1500 },
        reason: `approved offline (TC)${cvm.cvm === 'signature' ? '; the cardholder signs' : ''}${recovered ? TORN_NOTE : ''}`,
      });
    const online: OnlineRequest = {
      de55: dataRecord(ctx),
      pan,
      ...(sequence !== undefined ? { panSequenceNumber: sequence } : {}),
      ...trackAndExpiry(ctx),
    };
    if (cvm.cvm === 'online-pin') {
      // Contactless: the PIN is entered after the card has left the field.
      const pinBlock = await activation.callbacks.requestOnlinePin!(pan);
      if (pinBlock) online.pinBlock = pinBlock;
    }
    return outcome(ctx, 'online-request', {
      ...base,
      online,
      uiRequestOnOutcome: { message: 'authorising', status: 'processing' },
      reason: `the card asks to go online (ARQC)${cvm.cvm === 'online-pin' ? ' with an online PIN' : ''}${recovered ? TORN_NOTE : ''}`,
    });
  }

  /**
   * Book C-2 torn transactions: the card left the field after GENERATE AC was sent, so the card
   * may have counted and computed an AC the terminal never saw. The next tap of the same card
   * (PAN and sequence number) asks for that AC with RECOVER AC instead of making a new one.
   */
  private keepTorn(
    ctx: TransactionContext,
    attempt: GenerateAcAttempt,
    pan: string,
    sequence: string | undefined,
    drdolData: Buffer,
  ): void {
    const snapshot = new Map([...ctx.terminalData].map(([tag, value]) => [tag, Buffer.from(value)] as const));
    this.tornLog.push({ pan, sequence, drdolData, attempt, snapshot, at: ctx.transaction.date.getTime() });
    while (this.tornLog.length > this.maxTornRecords) this.tornLog.shift();
  }

  private async recoverTorn(
    ctx: TransactionContext,
    pan: string,
    sequence: string | undefined,
  ): Promise<{ response: CardResponse; attempt: GenerateAcAttempt } | undefined> {
    const now = ctx.transaction.date.getTime();
    // Records older than their lifetime are dropped: the transaction they held is over.
    this.tornLog = this.tornLog.filter((r) => now - r.at <= this.tornLifetimeSeconds * 1000);
    const index = this.tornLog.findIndex((r) => r.pan === pan && r.sequence === sequence);
    if (index < 0) return undefined;
    const torn = this.tornLog.splice(index, 1)[0]!;
    const response = await ctx.channel.send(commandApdu(0x80, 0xd0, 0x00, 0x00, torn.drdolData, 0x00));
    if (response.sw !== SW_OK) return undefined;
    // The recovered AC is over the torn transaction's data: the data record must carry them.
    for (const [tag, value] of torn.snapshot) {
      if (tag === 0x95) value.copy(ctx.tvr.bytes);
      else if (tag !== 0x9b) ctx.terminalData.set(tag, value);
    }
    return { response, attempt: torn.attempt };
  }

  /** Number of torn transactions kept (the oldest is dropped), and how long one may be recovered. */
  get tornRecords(): number {
    return this.tornLog.length;
  }

  /** C-2's terminal risk management data (9F1D): the CVMs the reader accepts, and whether the CVM limit was exceeded. */
  private riskManagementData(activation: KernelActivation): Buffer {
    const data = Buffer.alloc(8);
    const capabilities = Buffer.from(activation.terminal.capabilities, 'hex');
    if (activation.terminal.pinPadPresent && (capabilities[1]! & 0x40) !== 0) data[0]! |= 0x40;
    if ((capabilities[1]! & 0x20) !== 0) data[0]! |= 0x20;
    data[0]! |= 0x08; // no CVM required
    if (this.onDeviceCvmSupported) data[0]! |= 0x04;
    if (activation.indicators.cvmRequiredLimitExceeded) data[1]! |= 0x80;
    return data;
  }

  /**
   * The relay resistance protocol: the terminal's entropy (its unpredictable number) goes to
   * the card, the exchange is timed, a too slow answer is retried, and the verdict lands in
   * TVR byte 5. `exchanged` is what the card must have signed in its CDA signature.
   */
  private async relayResistance(
    ctx: TransactionContext,
    activation: KernelActivation,
    aip: Buffer,
  ): Promise<{ failed?: string; exchanged?: Buffer }> {
    const configured = activation.combination.relayResistance;
    const tvr5 = ctx.tvr.bytes;
    if (!configured) return {};
    if ((aip[1]! & AIP2_RELAY_RESISTANCE) === 0) {
      tvr5[4]! |= TVR5_RR_NOT_PERFORMED;
      return {};
    }
    const settings: TerminalRelayResistanceSettings = {
      ...configured,
      expectedCommandTransmissionTime: this.expectedCommandTransmissionTime,
      expectedResponseTransmissionTime: this.expectedResponseTransmissionTime,
    };
    const entropy = ctx.terminalData.get(0x9f37)!;
    for (let attempt = 0; ; attempt++) {
      const start = this.clockMicros();
      const { data, sw } = await ctx.channel.send(commandApdu(0x80, 0xea, 0x00, 0x00, entropy, 0x00));
      const elapsed = (this.clockMicros() - start) / 100;
      if (sw !== SW_OK) return { failed: `EXCHANGE RELAY RESISTANCE DATA answered ${swHex(sw)}` };
      const template = decodeTlv(data)[0];
      const device = template?.tag === 0x80 ? parseDeviceRelayResistanceData(template.value) : undefined;
      if (!device) return { failed: 'EXCHANGE RELAY RESISTANCE DATA answer is not a 10-byte template 80' };
      const measured = measuredProcessingTime(elapsed, device, settings);
      const verdict = judgeRelayResistance(measured, device, settings);
      if (verdict === 'faster-than-possible')
        return {
          failed: `relay resistance: the card answered in ${measured} (x100 us), faster than its own minimum ${device.minTimeForProcessing}`,
        };
      if (verdict === 'time-limits-exceeded' && attempt < RELAY_RESISTANCE_RETRIES) continue;
      tvr5[4]! |= TVR5_RR_PERFORMED;
      if (verdict === 'time-limits-exceeded') tvr5[4]! |= TVR5_RR_TIME_LIMITS_EXCEEDED;
      if (verdict === 'threshold-exceeded') tvr5[4]! |= TVR5_RR_THRESHOLD_EXCEEDED;
      return { exchanged: Buffer.concat([entropy, template!.value]) };
    }
  }
}

const RANK: Record<Decision, number> = { AAC: 0, TC: 1, ARQC: 2 };

function parseFci(fci: Buffer): { aid: Buffer; pdol?: Buffer } {
  let items: Tlv[];
  try {
    items = decodeTlv(fci);
  } catch {
    throw new CardDataError('the FCI of the selected application does not parse');
  }
  const aid = findTag(items, 0x84)?.value;
  if (items[0]?.tag !== 0x6f || !aid) throw new CardDataError('the FCI is not a 6F template with the DF name (84)');
  const pdol = findTag(items, 0x9f38)?.value;
  return { aid, ...(pdol ? { pdol } : {}) };
}

function parseGpo(data: Buffer): { aip: Buffer; afl: Buffer } {
  const items = decodeTlv(data);
  const first = items[0];
  if (first?.tag === 0x80 && first.value.length >= 2 && (first.value.length - 2) % 4 === 0)
    return { aip: first.value.subarray(0, 2), afl: first.value.subarray(2) };
  const aip = findTag(items, 0x82)?.value;
  const afl = findTag(items, 0x94)?.value;
  if (first?.tag !== 0x77 || aip?.length !== 2 || !afl || afl.length % 4 !== 0)
    throw new CardDataError('the GET PROCESSING OPTIONS answer has no valid AIP (82) and AFL (94)');
  return { aip, afl };
}

/** Reads the AFL's records into the context; returns the static data to authenticate. */
async function readRecords(ctx: TransactionContext, afl: Buffer): Promise<Buffer> {
  const signed: Buffer[] = [];
  for (let at = 0; at < afl.length; at += 4) {
    const sfi = afl[at]! >> 3;
    const first = afl[at + 1]!;
    const last = afl[at + 2]!;
    const forOda = afl[at + 3]!;
    if (sfi < 1 || sfi > 30 || first === 0 || last < first || forOda > last - first + 1)
      throw new CardDataError(
        `the AFL entry ${afl
          .subarray(at, at + 4)
          .toString('hex')
          .toUpperCase()} is invalid`,
      );
    for (let rec = first; rec <= last; rec++) {
      const { data, sw } = await ctx.channel.send(commandApdu(0x00, 0xb2, rec, (sfi << 3) | 0x04, undefined, 0x00));
      if (sw !== SW_OK) throw new CardDataError(`READ RECORD ${sfi}.${rec} answered ${swHex(sw)}`);
      const items = decodeTlv(data);
      if (items.length !== 1 || items[0]!.tag !== 0x70)
        throw new CardDataError(`record ${sfi}.${rec} is not a 70 template`);
      try {
        ctx.addCardData(items[0]!.children ?? [], 'record');
      } catch (error) {
        if (error instanceof PosError && error.code === 'CODPOS_EMV_DUPLICATE_DATA')
          throw new CardDataError(error.message);
        throw error;
      }
      // Book 3 10.3: the value of the 70 template for SFI 1..10.
      if (rec - first < forOda) signed.push(encodeTlv(items[0]!.children ?? []));
    }
  }
  return Buffer.concat(signed);
}

/** The ICC public key for CDA, from the CA key the terminal holds for the card's RID and index. */
function recoverCdaKey(
  ctx: TransactionContext,
  staticData: Buffer,
  aip: Buffer,
): { key?: IccPublicKey; failure?: string } {
  const card = ctx.card;
  const missing = [0x8f, 0x90, 0x9f32, 0x9f46, 0x9f47].filter((tag) => !card.has(tag));
  if (missing.length > 0) {
    ctx.tvr.set('iccDataMissing');
    return { failure: `missing ${missing.map((t) => t.toString(16).toUpperCase()).join(', ')}` };
  }
  const rid = ctx.aid!.subarray(0, 5).toString('hex').toUpperCase();
  const index = card.get(0x8f)!.toString('hex').toUpperCase();
  const today = dateValue(ctx.dateDigits());
  const capk = ctx.terminal.caKeys.find(
    (k) =>
      k.rid.toUpperCase() === rid &&
      k.index.toUpperCase() === index &&
      (k.expiry === '000000' || dateValue(k.expiry) >= today),
  );
  if (!capk) return { failure: `no CA public key ${rid}/${index}` };
  const tagList = card.get(0x9f4a);
  const signed = tagList?.length === 1 && tagList[0] === 0x82 ? Buffer.concat([staticData, aip]) : staticData;
  const pan = ctx.pan() ?? '';
  const issuer = recoverIssuerPublicKey({
    capk: { rid: capk.rid, index: capk.index, modulus: capk.modulus, exponent: capk.exponent },
    certificate: card.get(0x90)!,
    remainder: card.get(0x92),
    exponent: card.get(0x9f32)!,
    pan,
    transactionDate: ctx.dateDigits(),
  });
  if (!issuer.ok) return { failure: issuer.failed };
  const icc = recoverIccPublicKey({
    issuer: issuer.issuer,
    certificate: card.get(0x9f46)!,
    remainder: card.get(0x9f48),
    exponent: card.get(0x9f47)!,
    staticData: signed,
    pan,
    transactionDate: ctx.dateDigits(),
  });
  if (!icc.ok) return { failure: icc.failed };
  return { key: icc.icc };
}

/** Terminal action analysis (Book C-2, as Book 3 10.7): TVR against the combination's TACs and the card's IACs. */
function terminalActionAnalysis(ctx: TransactionContext, activation: KernelActivation, cvm: OutcomeCvm): Decision {
  const { combination, indicators, terminal } = activation;
  const tac = (hex: string | undefined, fallback: number) =>
    hex ? Buffer.from(hex, 'hex') : Buffer.alloc(5, fallback);
  const iac = (tag: number, fallback: number) => ctx.card.get(tag) ?? Buffer.alloc(5, fallback);
  const tvr = ctx.tvr.bytes;
  const matches = (a: Buffer, b: Buffer) => tvr.some((byte, i) => (byte & ((a[i] ?? 0) | (b[i] ?? 0))) !== 0);
  if (matches(tac(combination.tacDenial, 0x00), iac(0x9f0e, 0x00))) return 'AAC';
  const mustGoOnline =
    cvm === 'online-pin' ||
    indicators.statusCheckRequested ||
    indicators.zeroAmount ||
    indicators.floorLimitExceeded ||
    activation.transaction.forceOnline === true;
  if (terminal.onlineCapable) {
    if (mustGoOnline || matches(tac(combination.tacOnline, 0x00), iac(0x9f0f, 0xff))) return 'ARQC';
    return 'TC';
  }
  return matches(tac(combination.tacDefault, 0x00), iac(0x9f0d, 0xff)) ? 'AAC' : 'TC';
}

interface GenerateAcAnswer {
  cid: number;
  items: Tlv[];
  sdad?: Buffer;
  /** The answer's TLVs other than 9F4B, encoded in the card's order: part of CDA's hash. */
  unsigned: Buffer;
}

function parseGenerateAc(data: Buffer): GenerateAcAnswer {
  const template = decodeTlv(data)[0];
  if (template?.tag !== 0x77 || !template.children)
    throw new CardDataError('the GENERATE AC answer is not a 77 template');
  const cid = template.children.find((c) => c.tag === 0x9f27)?.value;
  const atc = template.children.find((c) => c.tag === 0x9f36)?.value;
  if (cid?.length !== 1 || atc?.length !== 2)
    throw new CardDataError('the GENERATE AC answer lacks the CID (9F27) or the ATC (9F36)');
  const unsignedItems = template.children.filter((c) => c.tag !== 0x9f4b);
  const sdad = template.children.find((c) => c.tag === 0x9f4b)?.value;
  return {
    cid: cid[0]!,
    items: unsignedItems,
    ...(sdad ? { sdad } : {}),
    unsigned: encodeTlv(unsignedItems),
  };
}

function verifyCda(
  ctx: TransactionContext,
  key: IccPublicKey,
  answer: GenerateAcAnswer,
  pdolData: Buffer,
  cdol1Data: Buffer,
  relayExchanged: Buffer | undefined,
): { ok: true; cryptogram: Buffer } | { ok: false; failure: string } {
  if (!answer.sdad) return { ok: false, failure: 'the GENERATE AC answer has no signed dynamic data (9F4B)' };
  const result = verifyCdaSignature({
    icc: key,
    sdad: answer.sdad,
    unpredictableNumber: ctx.terminalData.get(0x9f37)!,
    cid: answer.cid,
    transactionData: Buffer.concat([pdolData, cdol1Data, answer.unsigned]),
  });
  if (!result.ok) return { ok: false, failure: result.failed };
  if (relayExchanged) {
    // After IDN, CID, AC and the hash: the relay resistance data the card exchanged.
    const at = 1 + result.idn.length + 1 + 8 + 20;
    const signedRelay = result.dynamicData.subarray(at, at + relayExchanged.length);
    if (!signedRelay.equals(relayExchanged))
      return { ok: false, failure: 'the relay resistance data signed by the card differ from those exchanged' };
  }
  return { ok: true, cryptogram: result.cryptogram };
}

function dataRecord(ctx: TransactionContext): Tlv[] {
  const record: Tlv[] = [];
  for (const tag of C2_DATA_RECORD_TAGS) {
    const value = ctx.terminalData.get(tag) ?? ctx.card.get(tag);
    if (value !== undefined) record.push({ tag, value: Buffer.from(value) });
  }
  return record;
}

function trackAndExpiry(ctx: TransactionContext): { track2?: string; expiry?: string } {
  const expiry = ctx.card.get(0x5f24)?.toString('hex').slice(0, 4);
  const tag57 = ctx.card.get(0x57);
  let track2: string | undefined;
  if (tag57) {
    try {
      const track = parseTrack2Equivalent(tag57);
      track2 = `${track.pan}=${track.expiry}${track.serviceCode}${track.discretionary}`;
    } catch (error) {
      if (!(error instanceof PosError && error.code === 'CODPOS_EMV_BAD_TRACK')) throw error;
    }
  }
  return { ...(track2 !== undefined ? { track2 } : {}), ...(expiry !== undefined ? { expiry } : {}) };
}

type OutcomeFields = Partial<Omit<ContactlessOutcome, 'status' | 'dataRecord' | 'tvr' | 'kernelId'>> & {
  reason: string;
};

function outcome(
  ctx: TransactionContext,
  status: ContactlessOutcome['status'],
  fields: OutcomeFields,
): ContactlessOutcome {
  const hasCryptogram = ctx.card.has(0x9f26);
  return {
    start: 'n/a',
    cvm: 'n/a',
    onlineResponseData: 'none',
    receipt: false,
    oda: 'none',
    ...fields,
    status,
    kernelId: 2,
    tvr: Buffer.from(ctx.tvr.bytes),
    dataRecord: hasCryptogram ? dataRecord(ctx) : [],
    ...(hasCryptogram ? { cryptogram: Buffer.from(ctx.card.get(0x9f26)!) } : {}),
  };
}

function decline(
  ctx: TransactionContext,
  cvm: { cvm: OutcomeCvm; cvmResults: Buffer },
  cid: number,
  reason: string,
  oda: ContactlessOutcome['oda'],
  odaFailed: boolean,
): ContactlessOutcome {
  return outcome(ctx, 'declined', {
    cvm: 'no-cvm',
    cvmResults: cvm.cvmResults,
    cid,
    oda,
    odaFailed,
    receipt: true,
    uiRequestOnOutcome: { message: 'declined', status: 'not-ready', holdTimeMs: 1500 },
    reason,
  });
}

function endApplication(ctx: TransactionContext, reason: string): ContactlessOutcome {
  return outcome(ctx, 'end-application', {
    uiRequestOnOutcome: { message: 'error', status: 'processing-error' },
    reason,
  });
}

/** Book A/C-2: communication lost before the answer: ask for the card again, Entry Point restarts at B. */
function cardLeftField(ctx: TransactionContext, cause: string): ContactlessOutcome {
  const presentCard: UiRequest = { message: 'present-card', status: 'ready-to-read' };
  return outcome(ctx, 'try-again', {
    start: 'B',
    uiRequestOnOutcome: { message: 'try-again', status: 'processing-error' },
    uiRequestOnRestart: presentCard,
    reason: `the card left the field mid-transaction (${cause}): present it again`,
  });
}
