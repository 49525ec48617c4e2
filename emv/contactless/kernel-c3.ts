/**
 * The Visa-style contactless kernel (EMV Contactless Book C-3, qVSDC): one GET PROCESSING
 * OPTIONS with the PDOL filled (the TTQ carrying pre-processing's requests) gets the card's
 * decision and cryptogram at once; the records give the certificates; then
 * - AAC: declined;
 * - ARQC: online request, with the CVM the card's CTQ and the reader's TTQ agree on;
 * - TC: fDDA (c3-fdda.ts). Verified: approved. Failed: online if the CTQ says "go online if
 *   ODA fails" and the reader can, else another interface if the CTQ says "switch interface"
 *   and the reader has a contact chip, else declined.
 * GPO 6984 asks for the contact interface; 6985 for the next application; 6986 (a phone) for
 * the cardholder to look at the phone and tap again. A card that leaves the field mid-exchange
 * is "try again" from protocol activation (Book A 6.2).
 *
 * Issuer update processing: activated again with the online response (the card presented once
 * more), the kernel sends the ARPC of tag 91 (EXTERNAL AUTHENTICATE) and the script commands
 * of templates 71/72; the host's decision stands whatever the card says (Book C-3: issuer
 * update results are reported, they do not change the outcome).
 */
import { PosError } from '../../config/errors.js';
import { decodeTlv, findTag, type Tlv } from '../tlv/index.js';
import { parseTrack2Equivalent } from '../magstripe/index.js';
import { CardChannel, commandApdu, SW_OK, swHex } from '../kernel/apdu.js';
import { TransactionContext } from '../kernel/context.js';
import { parseScripts, runScripts } from '../kernel/scripts.js';
import type { OnlineRequest } from '../kernel/types.js';
import { verifyFdda } from './c3-fdda.js';
import { CTQ, TTQ, hasBit, withBit } from './c3-qualifiers.js';
import type {
  ContactlessKernel,
  ContactlessOutcome,
  KernelActivation,
  OutcomeCvm,
  OutcomeStatus,
  PreProcessingIndicators,
} from './types.js';

/** The tags of the kernel's data record: what DE55 and the clearing record carry. */
export const C3_DATA_RECORD_TAGS: readonly number[] = [
  0x9f26, 0x9f27, 0x9f10, 0x9f37, 0x9f36, 0x95, 0x9a, 0x9c, 0x9f02, 0x5f2a, 0x82, 0x9f1a, 0x9f03, 0x9f33, 0x9f35,
  0x9f6e, 0x9f66, 0x9f34, 0x84, 0x5f34,
];

/** CVM Results (9F34) per outcome CVM: method, condition, result (Book 3 annex C3). */
const CVM_RESULTS: Record<OutcomeCvm, string> = {
  'online-pin': '020000', // enciphered PIN online, result unknown (the issuer checks it)
  signature: '1E0000', // signature, result unknown (the courier checks it)
  // The phone verified its owner; the reader itself performed no CVM, successfully.
  'confirmation-code-verified': '3F0002',
  'no-cvm': '1F0002',
  'n/a': '3F0000',
};

/** The card left the field or the reader lost it: Book A's communication error. */
class CardCommunicationError extends Error {}

/** The TTQ for this transaction: the combination's, with the bits pre-processing asks for (Book B 3.1.1). */
export function transactionTtq(configured: Buffer, indicators: PreProcessingIndicators): Buffer {
  let ttq: Buffer = Buffer.from(configured);
  if (indicators.statusCheckRequested || indicators.zeroAmount || indicators.floorLimitExceeded)
    ttq = withBit(ttq, TTQ.onlineCryptogramRequired);
  if (indicators.cvmRequiredLimitExceeded) ttq = withBit(ttq, TTQ.cvmRequired);
  return ttq;
}

interface Exchange {
  ctx: TransactionContext;
  transmit: (apdu: Buffer) => Promise<{ data: Buffer; sw: number }>;
}

function exchangeOf(activation: KernelActivation): Exchange {
  // Any failure to get an answer is the card leaving the field (Book A: communication error).
  const guarded = async (apdu: Buffer): Promise<Buffer> => {
    let response: Buffer;
    try {
      response = await activation.transmit(apdu);
    } catch (error) {
      throw new CardCommunicationError(error instanceof Error ? error.message : String(error));
    }
    if (!Buffer.isBuffer(response) || response.length < 2)
      throw new CardCommunicationError('card answer without status word');
    return response;
  };
  const channel = new CardChannel(guarded);
  // The contact kernel's context builds the terminal data (9A at the terminal's wall clock,
  // BCD amounts) and checks the transaction; C-3 never calls the host itself (the online
  // request is an outcome), so its host callback is never used.
  const ctx = new TransactionContext(channel, activation.terminal, activation.transaction, {
    goOnline: () => ({ result: 'unable' }),
    ...(activation.callbacks.cardRead ? { cardRead: activation.callbacks.cardRead } : {}),
  });
  return { ctx, transmit: (apdu) => channel.send(apdu) };
}

function baseOutcome(status: OutcomeStatus, reason: string): ContactlessOutcome {
  return {
    status,
    start: 'n/a',
    cvm: 'n/a',
    onlineResponseData: 'none',
    dataRecord: [],
    receipt: false,
    kernelId: 3,
    oda: 'none',
    reason,
  };
}

function tryAgain(reason: string): ContactlessOutcome {
  return {
    ...baseOutcome('try-again', reason),
    start: 'B',
    uiRequestOnOutcome: { message: 'try-again', status: 'processing-error' },
    uiRequestOnRestart: { message: 'present-card', status: 'ready-to-read' },
  };
}

function endApplication(reason: string): ContactlessOutcome {
  return { ...baseOutcome('end-application', reason), uiRequestOnOutcome: { message: 'error', status: 'not-ready' } };
}

function tryAnotherInterface(reason: string): ContactlessOutcome {
  return {
    ...baseOutcome('try-another-interface', reason),
    alternateInterface: 'contact-chip',
    uiRequestOnOutcome: { message: 'insert-card', status: 'processing-error' },
  };
}

export class KernelC3 implements ContactlessKernel {
  readonly id = 3 as const;

  async activate(activation: KernelActivation): Promise<ContactlessOutcome> {
    const exchange = exchangeOf(activation);
    try {
      if (activation.onlineResponse) return await issuerUpdate(activation, exchange);
      return await qvsdc(activation, exchange);
    } catch (error) {
      if (error instanceof CardCommunicationError)
        return tryAgain(`card left the field during the transaction (${error.message}): present it again`);
      throw error;
    }
  }
}

function fciTags(fci: Buffer): { pdol?: Buffer; dfName?: Buffer } {
  try {
    const items = decodeTlv(fci);
    const root = findTag(items, 0x6f)?.children ?? [];
    const proprietary = findTag(root, 0xa5)?.children ?? [];
    const pdol = findTag(proprietary, 0x9f38)?.value;
    const dfName = findTag(root, 0x84)?.value;
    return { ...(pdol ? { pdol } : {}), ...(dfName ? { dfName } : {}) };
  } catch {
    return {};
  }
}

/** The GPO answer's data objects (template 77); undefined when it is not one. */
function gpoAnswer(data: Buffer): Tlv[] | undefined {
  try {
    const items = decodeTlv(data);
    return items.length === 1 && items[0]!.tag === 0x77 ? (items[0]!.children ?? []) : undefined;
  } catch {
    return undefined;
  }
}

async function qvsdc(activation: KernelActivation, { ctx, transmit }: Exchange): Promise<ContactlessOutcome> {
  const { pdol, dfName } = fciTags(activation.fci);
  if (!pdol) return endApplication('the card gave no PDOL in its FCI: qVSDC needs the TTQ in GPO');
  const configured =
    activation.indicators.ttq ??
    (activation.combination.ttq ? Buffer.from(activation.combination.ttq, 'hex') : undefined);
  if (!configured || configured.length !== 4)
    return endApplication('no 4-byte TTQ (9F66) configured for the Visa-style combination');
  const ttq = activation.indicators.ttq ?? transactionTtq(configured, activation.indicators);
  ctx.terminalData.set(0x9f66, ttq);
  ctx.aid = dfName ?? Buffer.from(activation.combination.aid, 'hex');
  ctx.card.set(0x84, ctx.aid);
  const pdolData = ctx.dolData(pdol);
  // The TVR the card's cryptogram covers: DE55 carries it as sent, so the issuer can verify.
  const tvrSent = Buffer.from(ctx.tvr.bytes);
  const gpoData = Buffer.concat([Buffer.from([0x83, pdolData.length]), pdolData]);
  const gpo = await transmit(commandApdu(0x80, 0xa8, 0x00, 0x00, gpoData, 0x00));
  if (gpo.sw === 0x6984) return tryAnotherInterface('the card asks for another interface (GPO 6984)');
  if (gpo.sw === 0x6985)
    return {
      ...baseOutcome('select-next', 'the card refuses this application (GPO 6985): select the next one'),
      start: 'C',
    };
  if (gpo.sw === 0x6986)
    return {
      ...baseOutcome('try-again', 'the phone asks its owner to act on it (GPO 6986): see the phone, then tap again'),
      start: 'B',
      uiRequestOnOutcome: { message: 'see-phone', status: 'not-ready', holdTimeMs: 1300 },
      uiRequestOnRestart: { message: 'present-card', status: 'ready-to-read' },
    };
  if (gpo.sw !== SW_OK) return endApplication(`the card answered GPO with ${swHex(gpo.sw)}`);
  const answer = gpoAnswer(gpo.data);
  if (!answer) return endApplication('the GPO answer is not a template 77');
  ctx.addCardData(answer, 'gpo');
  const missing = [0x82, 0x9f36, 0x9f26, 0x9f27, 0x9f10, 0x57].filter((tag) => !ctx.card.has(tag));
  if (missing.length > 0)
    return endApplication(
      `the GPO answer lacks ${missing.map((t) => t.toString(16).toUpperCase()).join(', ')} (mandatory in qVSDC)`,
    );

  const records = await readRecords(ctx, transmit);
  if ('unusable' in records) return endApplication(records.unusable);
  const { staticData } = records;
  const track2 = parseTrack(ctx.card.get(0x57)!);
  if (!track2) return endApplication('track 2 equivalent data (57) does not parse');
  if (!ctx.card.has(0x5a))
    ctx.card.set(0x5a, Buffer.from(track2.pan.length % 2 ? track2.pan + 'F' : track2.pan, 'hex'));
  reportCard(ctx);

  const cid = ctx.card.get(0x9f27)![0]!;
  const ctq = ctx.card.get(0x9f6c);
  const cryptogramType = cid & 0xc0;
  const common = { cid, cryptogram: ctx.card.get(0x9f26)! };
  if (cryptogramType === 0x00) return finish(ctx, tvrSent, 'declined', 'no-cvm', 'the card declined (AAC)', common);
  if (cryptogramType !== 0x40 && cryptogramType !== 0x80)
    return endApplication(`the card answered a cryptogram type ${cid.toString(16).toUpperCase()} qVSDC does not know`);

  let status: OutcomeStatus = cryptogramType === 0x80 ? 'online-request' : 'approved';
  let reason =
    status === 'online-request'
      ? 'the card asks for online authorisation (ARQC)'
      : 'offline approved (TC, fDDA verified)';
  let odaFailed: boolean | undefined;
  if (status === 'approved') {
    const fdda = verifyFdda({
      card: ctx.card,
      terminal: ctx.terminalData,
      aid: ctx.aid,
      caKeys: activation.terminal.caKeys,
      ...(activation.terminal.revokedCertificates ? { revoked: activation.terminal.revokedCertificates } : {}),
      staticData,
    });
    if (!fdda.ok) {
      odaFailed = true;
      ctx.tvr.set('ddaFailed');
      if (fdda.missingData) ctx.tvr.set('iccDataMissing');
      const canGoOnline = activation.terminal.onlineCapable && !hasBit(ttq, TTQ.offlineOnlyReader);
      if (hasBit(ctq, CTQ.goOnlineIfOdaFails) && canGoOnline) {
        status = 'online-request';
        reason = `fDDA failed (${fdda.failure}); the card's CTQ asks to go online`;
      } else if (hasBit(ctq, CTQ.switchInterfaceIfOdaFails) && hasBit(ttq, TTQ.contactChipSupported)) {
        return {
          ...tryAnotherInterface(`fDDA failed (${fdda.failure}); the card's CTQ asks for the contact interface`),
          oda: 'fDDA',
          odaFailed: true,
          tvr: Buffer.from(ctx.tvr.bytes),
        };
      } else {
        return finish(ctx, tvrSent, 'declined', 'no-cvm', `fDDA failed (${fdda.failure}): declined offline`, {
          ...common,
          oda: 'fDDA',
          odaFailed: true,
        });
      }
    }
  }

  // fDDA runs on a TC only: an online cryptogram goes to the issuer unauthenticated.
  const oda = cryptogramType === 0x40 ? 'fDDA' : 'none';
  const cvm = chooseCvm(ctx, ttq, ctq, status);
  if (typeof cvm !== 'string')
    return finish(ctx, tvrSent, 'declined', 'no-cvm', cvm.decline, {
      ...common,
      oda,
      ...(odaFailed ? { odaFailed } : {}),
    });
  if (status === 'approved') return finish(ctx, tvrSent, status, cvm, reason, { ...common, oda });

  // Online request.
  const online: OnlineRequest = {
    de55: [],
    pan: ctx.pan()!,
    track2: `${track2.pan}=${track2.expiry}${track2.serviceCode}${track2.discretionary}`,
  };
  const sequence = ctx.card.get(0x5f34);
  if (sequence) online.panSequenceNumber = sequence.toString('hex');
  const expiry = ctx.card.get(0x5f24);
  if (expiry) online.expiry = expiry.toString('hex').slice(0, 4);
  if (cvm === 'online-pin' && activation.callbacks.requestOnlinePin) {
    const block = await activation.callbacks.requestOnlinePin(online.pan);
    if (block) {
      online.pinBlock = block;
      ctx.tvr.set('onlinePinEntered');
    } else {
      ctx.tvr.set('pinNotEntered');
    }
  }
  const issuerUpdate = hasBit(ctq, CTQ.issuerUpdateSupported) && hasBit(ttq, TTQ.issuerUpdateSupported);
  const result = finish(ctx, tvrSent, 'online-request', cvm, reason, {
    ...common,
    oda,
    ...(odaFailed ? { odaFailed } : {}),
  });
  online.de55 = result.dataRecord;
  return {
    ...result,
    online,
    onlineResponseData: issuerUpdate ? 'emv-data' : 'none',
    // Book A 6.2: the issuer's answer goes back to the card with the card presented again, a restart at B.
    ...(issuerUpdate
      ? {
          start: 'B' as const,
          uiRequestOnRestart: { message: 'present-card' as const, status: 'ready-to-read' as const },
        }
      : {}),
  };
}

/**
 * READ RECORD of the AFL, the records' data added to the card's. Gives the static data to
 * authenticate (the records the AFL flags, 70 template contents for SFI 1-10 and whole records
 * above, with the AIP when 9F4A asks), undefined when 9F4A asks for more than the AIP (fDDA then
 * fails), or why the records are unusable (the application ends).
 */
async function readRecords(
  ctx: TransactionContext,
  transmit: Exchange['transmit'],
): Promise<{ staticData: Buffer | undefined } | { unusable: string }> {
  const afl = ctx.card.get(0x94) ?? Buffer.alloc(0);
  if (afl.length % 4 !== 0) return { unusable: `the AFL (94) is ${afl.length} bytes, not a multiple of 4` };
  const signed: Buffer[] = [];
  for (let at = 0; at < afl.length; at += 4) {
    const sfi = afl[at]! >> 3;
    const [first, last, odaCount] = [afl[at + 1]!, afl[at + 2]!, afl[at + 3]!];
    if (sfi < 1 || sfi > 30 || first < 1 || last < first || odaCount > last - first + 1)
      return {
        unusable: `the AFL entry ${afl
          .subarray(at, at + 4)
          .toString('hex')
          .toUpperCase()} is invalid`,
      };
    for (let n = first; n <= last; n++) {
      const { data, sw } = await transmit(commandApdu(0x00, 0xb2, n, (sfi << 3) | 0x04, undefined, 0x00));
      if (sw !== SW_OK) return { unusable: `READ RECORD ${sfi}.${n} answered ${swHex(sw)}` };
      let items: Tlv[];
      try {
        items = decodeTlv(data);
      } catch {
        return { unusable: `record ${sfi}.${n} does not parse as TLV` };
      }
      const template = items.length === 1 && items[0]!.tag === 0x70 ? items[0]! : undefined;
      if (!template) return { unusable: `record ${sfi}.${n} is not a template 70` };
      if (n - first < odaCount) signed.push(sfi <= 10 ? template.value : data);
      try {
        ctx.addCardData(template.children ?? [], 'record');
      } catch (error) {
        if (error instanceof PosError && error.code === 'CODPOS_EMV_DUPLICATE_DATA') return { unusable: error.message };
        throw error;
      }
    }
  }
  const tagList = ctx.card.get(0x9f4a);
  if (!tagList || tagList.length === 0) return { staticData: Buffer.concat(signed) };
  if (tagList.length !== 1 || tagList[0] !== 0x82) return { staticData: undefined };
  return { staticData: Buffer.concat([...signed, ctx.card.get(0x82)!]) };
}

function parseTrack(tag57: Buffer) {
  try {
    return parseTrack2Equivalent(tag57);
  } catch (error) {
    if (error instanceof PosError && error.code === 'CODPOS_EMV_BAD_TRACK') return undefined;
    throw error;
  }
}

function reportCard(ctx: TransactionContext): void {
  const pan = ctx.pan();
  if (pan === undefined || ctx.callbacks.cardRead === undefined) return;
  const expiry = ctx.card.get(0x5f24)?.toString('hex');
  const sequence = ctx.card.get(0x5f34)?.toString('hex');
  ctx.callbacks.cardRead({
    pan,
    ...(expiry !== undefined ? { expiry } : {}),
    ...(sequence !== undefined ? { panSequenceNumber: sequence } : {}),
  });
}

/**
 * Cardholder verification (Book C-3): the card's CTQ says what it requires, the TTQ what the
 * reader supports and whether the reader requires a CVM. A required CVM nobody can perform
 * declines.
 */
function chooseCvm(
  ctx: TransactionContext,
  ttq: Buffer,
  ctq: Buffer | undefined,
  status: OutcomeStatus,
): OutcomeCvm | { decline: string } {
  const goingOnline = status === 'online-request';
  const readerWantsCvm = hasBit(ttq, TTQ.cvmRequired);
  if (ctq) {
    if (hasBit(ctq, CTQ.onlinePinRequired) && hasBit(ttq, TTQ.onlinePinSupported) && goingOnline) return 'online-pin';
    if (hasBit(ctq, CTQ.consumerDeviceCvmPerformed)) {
      // Offline, the signed copy of the CTQ in 9F69 proves the phone did verify its owner.
      const signedCtq = ctx.card.get(0x9f69)?.subarray(5, 7);
      if (goingOnline || (signedCtq !== undefined && signedCtq.equals(ctq))) return 'confirmation-code-verified';
      return { decline: 'the consumer device CVM the CTQ claims is not the one the card signed (9F69)' };
    }
    if (hasBit(ctq, CTQ.signatureRequired) && hasBit(ttq, TTQ.signatureSupported)) return 'signature';
    if (hasBit(ctq, CTQ.onlinePinRequired))
      return { decline: 'the card requires online PIN and the transaction cannot take it online' };
    if (readerWantsCvm) return { decline: 'a CVM is required and the card asks for none the reader supports' };
    return 'no-cvm';
  }
  if (!readerWantsCvm) return 'no-cvm';
  if (goingOnline && hasBit(ttq, TTQ.onlinePinSupported)) return 'online-pin';
  if (hasBit(ttq, TTQ.signatureSupported)) return 'signature';
  return { decline: 'a CVM is required and the reader supports none the card can do' };
}

/** The outcome with its data record, TVR and CVM results. */
function finish(
  ctx: TransactionContext,
  tvrSent: Buffer,
  status: OutcomeStatus,
  cvm: OutcomeCvm,
  reason: string,
  extra: Partial<ContactlessOutcome>,
): ContactlessOutcome {
  const cvmResults = Buffer.from(CVM_RESULTS[cvm], 'hex');
  ctx.terminalData.set(0x9f34, cvmResults);
  const value = (tag: number) => (tag === 0x95 ? tvrSent : (ctx.terminalData.get(tag) ?? ctx.card.get(tag)));
  const dataRecord: Tlv[] = [];
  for (const tag of C3_DATA_RECORD_TAGS) {
    const v = value(tag);
    if (v !== undefined) dataRecord.push({ tag, value: Buffer.from(v) });
  }
  const ui = {
    approved: { message: 'approved', status: 'card-read-successfully' },
    declined: { message: 'declined', status: 'card-read-successfully' },
    'online-request': { message: 'authorising', status: 'card-read-successfully' },
  } as const;
  return {
    ...baseOutcome(status, reason),
    cvm,
    dataRecord,
    receipt: cvm === 'signature',
    tvr: Buffer.from(ctx.tvr.bytes),
    cvmResults,
    ...(status in ui ? { uiRequestOnOutcome: { ...ui[status as keyof typeof ui] } } : {}),
    ...extra,
  };
}

/**
 * Issuer update processing (Book C-3): the card is presented again after the online response;
 * the ARPC goes to the card with EXTERNAL AUTHENTICATE, then the script commands. The outcome
 * is the host's decision; the card's answers show in the TVR and the script results (9F5B).
 */
async function issuerUpdate(activation: KernelActivation, { ctx, transmit }: Exchange): Promise<ContactlessOutcome> {
  const answer = activation.onlineResponse!;
  const approved = answer.result === 'approved';
  const reason = approved
    ? 'approved by the issuer'
    : answer.result === 'declined'
      ? 'declined by the issuer'
      : 'no answer from the issuer';
  const dataRecord: Tlv[] = [];
  let updateFailure: string | undefined;
  try {
    if (answer.issuerAuthenticationData) {
      const { sw } = await transmit(commandApdu(0x00, 0x82, 0x00, 0x00, answer.issuerAuthenticationData));
      ctx.tsi.set('issuerAuthenticationPerformed');
      if (sw !== SW_OK) ctx.tvr.set('issuerAuthenticationFailed');
    }
    const scripts = parseScripts(answer.issuerScripts);
    const results = [...(await runScripts(ctx, scripts, 0x71)), ...(await runScripts(ctx, scripts, 0x72))];
    if (results.length > 0) dataRecord.push({ tag: 0x9f5b, value: Buffer.concat(results.map((r) => r.value)) });
  } catch (error) {
    if (!(error instanceof CardCommunicationError)) throw error;
    updateFailure = `the card left the field during issuer update processing (${error.message})`;
  }
  dataRecord.push({ tag: 0x95, value: Buffer.from(ctx.tvr.bytes) });
  return {
    ...baseOutcome(approved ? 'approved' : 'declined', updateFailure ? `${reason}; ${updateFailure}` : reason),
    cvm: 'no-cvm',
    dataRecord,
    tvr: Buffer.from(ctx.tvr.bytes),
    uiRequestOnOutcome: { message: approved ? 'approved' : 'declined', status: 'card-read-successfully' },
  };
}
