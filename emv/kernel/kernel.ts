/**
 * The EMV contact kernel: one transaction from application selection to the final
 * cryptogram (EMV Book 3 chapters 9-10, Book 4), over an injected card channel.
 *
 * Outcomes are data (approved, declined, terminated, not accepted) with the TVR and TSI
 * as the books set them; faults of the reader or a mute card are PosErrors thrown by
 * the channel and passed through. The kernel does no I/O of its own: the PIN pad and
 * the host are callbacks.
 */
import { createHash } from 'node:crypto';
import { maskPanForReceipt } from '../../config/masking.js';
import { PosError } from '../../config/errors.js';
import { decodeTlv, encodeTlv, findTag, type Tlv } from '../tlv/index.js';
import { parseTrack2Equivalent } from '../magstripe/index.js';
import { terminalActionAnalysis, defaultActionAnalysis, type Decision } from './action-analysis.js';
import { CardChannel, commandApdu, SW_OK, swHex } from './apdu.js';
import { TransactionContext } from './context.js';
import { cardholderVerification, type CvmOutcome } from './cvm.js';
import { dolRequests } from './dol.js';
import { offlineDataAuthentication, verifyCdaResponse, type OdaState } from './oda.js';
import { processingRestrictions } from './restrictions.js';
import { terminalRiskManagement } from './risk.js';
import { parseScripts, runScripts } from './scripts.js';
import {
  buildCandidateList,
  needsConfirmation,
  orderCandidates,
  readRecordCommand,
  selectByName,
} from './selection.js';
import { tsiBitsOf, tvrBitsOf } from './tvr.js';
import type { CandidateApplication, HostAnswer, KernelInput, KernelResult, Outcome, ScriptResult } from './types.js';

const AC_OF_CID: Record<number, Decision> = { 0x00: 'AAC', 0x40: 'TC', 0x80: 'ARQC' };
const P1_OF: Record<Decision, number> = { AAC: 0x00, TC: 0x40, ARQC: 0x80 };
const RANK: Record<Decision, number> = { AAC: 0, TC: 1, ARQC: 2 };

/** Tags sent to the host in DE55 (the common set of Visa/Mastercard/EMVCo guidance). */
export const DE55_TAGS = [
  0x9f26, 0x9f27, 0x9f10, 0x9f37, 0x9f36, 0x95, 0x9a, 0x9c, 0x9f02, 0x5f2a, 0x82, 0x9f1a, 0x9f03, 0x9f33, 0x9f34,
  0x9f35, 0x9f1e, 0x84, 0x9f09, 0x9f41, 0x5f34, 0x9f6e,
] as const;
/**
 * The final chip data adds the TSI (9B): after the session it tells the acquirer which steps
 * ran (issuer authentication, script processing), which the request could not yet say.
 */
export const FINAL_DE55_TAGS = [...DE55_TAGS, 0x9b] as const;

/** A session ended the way the books say it ends (not a fault of ours or the reader's). */
class Termination extends Error {
  constructor(
    readonly outcome: Outcome,
    readonly reason: string,
  ) {
    super(reason);
  }
}

interface GenAcAnswer {
  cid: number;
  type: Decision;
  atc: Buffer;
  cryptogram?: Buffer;
  iad?: Buffer;
  sdad?: Buffer;
  tlvsWithoutSignature: Buffer;
}

export async function runTransaction(input: KernelInput): Promise<KernelResult> {
  const channel = new CardChannel(input.transmit);
  const ctx = new TransactionContext(channel, input.terminal, input.transaction, input.callbacks);
  let oda: OdaState = { method: 'none' };
  let cvm: CvmOutcome | undefined;
  const scriptResults: ScriptResult[] = [];
  let online = false;
  let last: (GenAcAnswer & { cdaFailed?: boolean }) | undefined;
  const finish = (outcome: Outcome, reason: string): KernelResult => {
    const de55 = buildDe55(ctx, FINAL_DE55_TAGS, scriptResults);
    const pan = ctx.pan();
    const label = ctx.card.get(0x50)?.toString('latin1') ?? ctx.card.get(0x9f12)?.toString('latin1');
    const rc = ctx.terminalData.get(0x8a)!;
    return {
      outcome,
      reason,
      online,
      ...(rc.some((b) => b !== 0) ? { responseCode: rc.toString('latin1') } : {}),
      tvr: Buffer.from(ctx.tvr.bytes),
      tsi: Buffer.from(ctx.tsi.bytes),
      tvrBits: tvrBitsOf(ctx.tvr.bytes),
      tsiBits: tsiBitsOf(ctx.tsi.bytes),
      ...(last ? { cid: last.cid, ...(last.cryptogram ? { cryptogram: last.cryptogram } : {}) } : {}),
      odaMethod: oda.method,
      ...(cvm ? { cvmResults: cvm.results } : {}),
      signatureRequired: outcome === 'approved' && (cvm?.signatureRequired ?? false),
      de55,
      finalIccData: encodeTlv(de55),
      scriptResults,
      ...(ctx.aid && pan
        ? {
            receipt: {
              aid: ctx.aid.toString('hex').toUpperCase(),
              ...(label ? { label } : {}),
              maskedPan: maskPanForReceipt(pan),
              tvr: ctx.tvr.hex(),
              tsi: ctx.tsi.hex(),
            },
          }
        : {}),
    };
  };

  try {
    await selectAndInitiate(ctx);
    await readApplicationData(ctx);
    reportCard(ctx);
    oda = await offlineDataAuthentication(ctx);
    processingRestrictions(ctx);
    cvm = await cardholderVerification(ctx);
    await terminalRiskManagement(ctx);
    const decision = terminalActionAnalysis(ctx);

    // First GENERATE AC.
    prepareTcHash(ctx, ctx.card.get(0x8c)!);
    const cdaRequested = oda.method === 'CDA' && oda.cdaKey !== undefined && decision !== 'AAC';
    const cdol1 = ctx.card.get(0x8c)!;
    const cdol1Data = ctx.dolData(cdol1);
    ctx.cdol1Data = cdol1Data;
    last = await generateAc(ctx, decision, cdaRequested, cdol1Data);
    ctx.tsi.set('cardRiskManagementPerformed');
    if (RANK[last.type] > RANK[decision]) throw new Termination('terminated', 'card-answered-above-request');
    if (cdaRequested && last.type !== 'AAC') {
      const check = verifyCdaResponse(ctx, oda, last, [cdol1Data]);
      if (!check.ok) {
        ctx.tvr.set('cdaFailed');
        if (last.type === 'TC') {
          setResponseCode(ctx, 'Z1');
          return finish('declined', 'cda-failed');
        }
        // ARQC with a bad signature: never go online, close with an AAC.
        setResponseCode(ctx, 'Z1');
        last = await secondGenerateAc(ctx, 'AAC', oda, false);
        return finish('declined', 'cda-failed');
      }
      last.cryptogram = check.cryptogram;
      ctx.card.set(0x9f26, check.cryptogram);
      ctx.card.set(0x9f4c, check.idn);
    }
    if (last.type === 'AAC') {
      setResponseCode(ctx, 'Z1');
      return finish('declined', 'offline-declined');
    }
    if (last.type === 'TC') {
      setResponseCode(ctx, 'Y1');
      return finish('approved', 'offline-approved');
    }

    // ARQC: online authorisation.
    online = true;
    const pan = ctx.pan() ?? '';
    const track2 = track2Text(ctx.card.get(0x57));
    const answer: HostAnswer = await askHost(input, {
      de55: buildDe55(ctx, DE55_TAGS, []),
      pan,
      ...(ctx.card.get(0x5f34) ? { panSequenceNumber: ctx.card.get(0x5f34)!.toString('hex') } : {}),
      ...(track2 !== undefined ? { track2 } : {}),
      ...(ctx.card.get(0x5f24) ? { expiry: ctx.card.get(0x5f24)!.toString('hex').slice(0, 4) } : {}),
      ...(cvm.pinBlock ? { pinBlock: cvm.pinBlock } : {}),
    });

    if (answer.result === 'unable') {
      online = false;
      const fallback = defaultActionAnalysis(ctx);
      setResponseCode(ctx, fallback === 'TC' ? 'Y3' : 'Z3');
      last = await secondGenerateAc(ctx, fallback, oda, true);
      // A TC whose CDA signature fails is a decline (Book 2 6.6.2), offline as online.
      if (last.cdaFailed) {
        setResponseCode(ctx, 'Z3');
        return finish('declined', 'cda-failed');
      }
      if (last.type === 'TC' && fallback === 'TC') return finish('approved', 'unable-to-go-online-approved');
      return finish('declined', 'unable-to-go-online-declined');
    }

    setResponseCode(ctx, answer.responseCode ?? (answer.result === 'approved' ? '00' : '05'));
    const scripts = parseScripts(answer.issuerScripts);
    const cdol2 = ctx.card.get(0x8d)!;
    if (answer.issuerAuthenticationData) {
      ctx.terminalData.set(0x91, answer.issuerAuthenticationData);
      const aip = ctx.card.get(0x82)!;
      // Issuer authentication is inside GENERATE AC 2 when the CDOL2 asks for tag 91;
      // otherwise, when the AIP says the card supports it, by EXTERNAL AUTHENTICATE.
      if (!dolRequests(cdol2, 0x91) && (aip[0]! & 0x04) !== 0) {
        const { sw } = await channel.send(commandApdu(0x00, 0x82, 0x00, 0x00, answer.issuerAuthenticationData));
        ctx.tsi.set('issuerAuthenticationPerformed');
        if (sw !== SW_OK) ctx.tvr.set('issuerAuthenticationFailed');
      }
    }
    scriptResults.push(...(await runScripts(ctx, scripts, 0x71)));
    const wanted: Decision = answer.result === 'approved' ? 'TC' : 'AAC';
    last = await secondGenerateAc(ctx, wanted, oda, true);
    scriptResults.push(...(await runScripts(ctx, scripts, 0x72)));
    if (last.cdaFailed) return finish('declined', 'cda-failed');
    if (answer.result === 'declined') return finish('declined', 'issuer-declined');
    if (last.type !== 'TC') return finish('declined', 'card-declined-after-online-approval');
    return finish('approved', 'online-approved');
  } catch (error) {
    if (error instanceof Termination) return finish(error.outcome, error.reason);
    // Malformed card data (a DOL cut short or asking for more than a command holds, a
    // tag sent twice) ends the session as the books say; reader and channel faults
    // stay PosErrors for the caller.
    if (
      error instanceof PosError &&
      (error.area === 'TLV' || error.code === 'CODPOS_EMV_DUPLICATE_DATA' || error.code === 'CODPOS_EMV_BAD_COMMAND')
    ) {
      return finish('terminated', `card-data-malformed: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The host call. A host fault (PosError of area HOST: link down, timeout) is "unable to
 * go online" for the card, which must still get its second GENERATE AC; the caller
 * learns about the fault from the result (`online: false`, Y3/Z3) and its own logs.
 */
async function askHost(
  input: KernelInput,
  request: Parameters<KernelInput['callbacks']['goOnline']>[0],
): Promise<HostAnswer> {
  try {
    return await input.callbacks.goOnline(request);
  } catch (error) {
    if (error instanceof PosError && error.area === 'HOST') return { result: 'unable' };
    throw error;
  }
}

function setResponseCode(ctx: TransactionContext, code: string): void {
  ctx.terminalData.set(0x8a, Buffer.from(code, 'latin1'));
}

/** Selection with the candidate list, confirmation, final SELECT and GPO (retried on 6985). */
async function selectAndInitiate(ctx: TransactionContext): Promise<void> {
  const selection = await buildCandidateList(ctx.channel, ctx.terminal.applications);
  if (selection.kind === 'card-blocked') throw new Termination('terminated', 'card-blocked');
  let candidates = orderCandidates(selection.candidates);
  while (candidates.length > 0) {
    const candidate = candidates[0]!;
    candidates = candidates.slice(1);
    if (needsConfirmation(candidate) && !(await confirm(ctx, candidate))) continue;
    const { data, sw } = await ctx.channel.send(selectByName(candidate.aid));
    if (sw !== SW_OK) continue;
    const fci = decodeCard(data, 'FCI');
    const dfName = findTag(fci, 0x84)?.value;
    if (!dfName || !dfName.equals(candidate.aid)) continue;
    ctx.card.clear();
    ctx.addCardData(fci, 'fci');
    ctx.aid = Buffer.from(dfName);
    ctx.application = ctx.terminal.applications[candidate.terminalIndex]!;
    ctx.terminalData.set(0x9f06, Buffer.from(ctx.application.aid, 'hex'));
    ctx.terminalData.set(0x9f09, Buffer.from(ctx.application.applicationVersion, 'hex'));
    ctx.terminalData.set(0x9f1b, Buffer.from(ctx.application.floorLimit.toString(16).padStart(8, '0'), 'hex'));

    const pdol = ctx.card.get(0x9f38);
    ctx.pdolData = pdol ? ctx.dolData(pdol) : Buffer.alloc(0);
    const command = encodeTlv([{ tag: 0x83, value: ctx.pdolData }]);
    const gpo = await ctx.channel.send(commandApdu(0x80, 0xa8, 0x00, 0x00, command));
    // 6985: conditions of use not satisfied -> this application is out, try the next one.
    if (gpo.sw === 0x6985) continue;
    if (gpo.sw !== SW_OK) throw new Termination('terminated', `gpo-failed-${swHex(gpo.sw)}`);
    const items = decodeCard(gpo.data, 'GPO answer');
    const top = items[0];
    if (top?.tag === 0x80) {
      if (top.value.length < 2 || (top.value.length - 2) % 4 !== 0)
        throw new Termination('terminated', 'gpo-format1-malformed');
      ctx.card.set(0x82, top.value.subarray(0, 2));
      ctx.card.set(0x94, top.value.subarray(2));
    } else if (top?.tag === 0x77) {
      ctx.addCardData(top.children ?? [], 'gpo');
    } else {
      throw new Termination('terminated', 'gpo-answer-not-80-or-77');
    }
    if (!ctx.card.has(0x82) || !ctx.card.has(0x94))
      throw new Termination('terminated', 'gpo-answer-without-aip-or-afl');
    return;
  }
  throw new Termination('not-accepted', 'no-mutually-supported-application');
}

async function confirm(ctx: TransactionContext, candidate: CandidateApplication): Promise<boolean> {
  if (!ctx.callbacks.confirmApplication) return false;
  return ctx.callbacks.confirmApplication(candidate);
}

function decodeCard(data: Buffer, what: string): Tlv[] {
  try {
    return decodeTlv(data);
  } catch (error) {
    if (error instanceof PosError)
      throw new Termination('terminated', `card-data-malformed: ${what}: ${error.message}`);
    throw error;
  }
}

/** READ RECORD for every AFL entry; records flagged for ODA build the static data. */
async function readApplicationData(ctx: TransactionContext): Promise<void> {
  const afl = ctx.card.get(0x94)!;
  if (afl.length === 0 || afl.length % 4 !== 0) throw new Termination('terminated', 'afl-malformed');
  const odaParts: Buffer[] = [];
  for (let pos = 0; pos < afl.length; pos += 4) {
    const sfi = afl[pos]! >> 3;
    const first = afl[pos + 1]!;
    const lastRecord = afl[pos + 2]!;
    const odaCount = afl[pos + 3]!;
    if (sfi < 1 || sfi > 30 || first < 1 || lastRecord < first || odaCount > lastRecord - first + 1)
      throw new Termination('terminated', 'afl-malformed');
    for (let record = first; record <= lastRecord; record++) {
      const { data, sw } = await ctx.channel.send(readRecordCommand(sfi, record));
      if (sw !== SW_OK) throw new Termination('terminated', `read-record-failed-${swHex(sw)}`);
      const items = decodeCard(data, `record ${sfi}.${record}`);
      const isTemplate = items.length === 1 && items[0]!.tag === 0x70;
      if (!isTemplate && sfi <= 10) throw new Termination('terminated', `record ${sfi}.${record} is not a 70 template`);
      if (record - first < odaCount) {
        // SFI 1-10: the template's value; SFI 11-30: the whole record (Book 3 10.3).
        if (sfi <= 10) odaParts.push(items[0]!.value);
        else if (isTemplate) odaParts.push(data);
        else ctx.odaRecordsMalformed = true;
      }
      if (isTemplate) ctx.addCardData(items[0]!.children ?? [], 'record');
    }
  }
  ctx.odaInput = Buffer.concat(odaParts);
  for (const tag of [0x5f24, 0x5a, 0x8c, 0x8d]) {
    if (!ctx.card.has(tag))
      throw new Termination('terminated', `mandatory-data-missing-${tag.toString(16).toUpperCase()}`);
  }
}

async function generateAc(
  ctx: TransactionContext,
  type: Decision,
  cda: boolean,
  dolData: Buffer,
): Promise<GenAcAnswer> {
  const p1 = P1_OF[type] | (cda ? 0x10 : 0x00);
  const { data, sw } = await ctx.channel.send(commandApdu(0x80, 0xae, p1, 0x00, dolData));
  if (sw !== SW_OK) throw new Termination('terminated', `generate-ac-failed-${swHex(sw)}`);
  const items = decodeCard(data, 'GENERATE AC answer');
  const top = items[0];
  let answer: GenAcAnswer;
  if (top?.tag === 0x80) {
    if (top.value.length < 11) throw new Termination('terminated', 'generate-ac-format1-malformed');
    answer = {
      cid: top.value[0]!,
      type: 'AAC',
      atc: top.value.subarray(1, 3),
      cryptogram: top.value.subarray(3, 11),
      iad: top.value.subarray(11),
      tlvsWithoutSignature: Buffer.alloc(0),
    };
  } else if (top?.tag === 0x77) {
    const children = top.children ?? [];
    const cid = findTag(children, 0x9f27)?.value;
    const atc = findTag(children, 0x9f36)?.value;
    if (!cid || cid.length !== 1 || !atc) throw new Termination('terminated', 'generate-ac-without-cid-or-atc');
    const sdad = findTag(children, 0x9f4b)?.value;
    const cryptogram = findTag(children, 0x9f26)?.value;
    if (!cryptogram && !sdad) throw new Termination('terminated', 'generate-ac-without-cryptogram');
    answer = {
      cid: cid[0]!,
      type: 'AAC',
      atc,
      ...(cryptogram ? { cryptogram } : {}),
      ...(findTag(children, 0x9f10) ? { iad: findTag(children, 0x9f10)!.value } : {}),
      ...(sdad ? { sdad } : {}),
      tlvsWithoutSignature: encodeTlv(children.filter((c) => c.tag !== 0x9f4b)),
    };
  } else {
    throw new Termination('terminated', 'generate-ac-answer-not-80-or-77');
  }
  const kind = AC_OF_CID[answer.cid & 0xc0];
  if (!kind) throw new Termination('terminated', 'generate-ac-cid-reserved');
  answer.type = kind;
  ctx.card.set(0x9f27, Buffer.from([answer.cid]));
  ctx.card.set(0x9f36, answer.atc);
  if (answer.cryptogram) ctx.card.set(0x9f26, answer.cryptogram);
  if (answer.iad) ctx.card.set(0x9f10, answer.iad);
  return answer;
}

async function secondGenerateAc(
  ctx: TransactionContext,
  type: 'TC' | 'AAC',
  oda: OdaState,
  allowCda: boolean,
): Promise<GenAcAnswer & { cdaFailed?: boolean }> {
  prepareTcHash(ctx, ctx.card.get(0x8d)!);
  const cdol2Data = ctx.dolData(ctx.card.get(0x8d)!);
  const cda = allowCda && oda.method === 'CDA' && oda.cdaKey !== undefined && type === 'TC';
  const answer = await generateAc(ctx, type, cda, cdol2Data);
  if (RANK[answer.type] > RANK[type]) throw new Termination('terminated', 'card-answered-above-request');
  if (cda && answer.type === 'TC') {
    const check = verifyCdaResponse(ctx, oda, answer, [ctx.cdol1Data!, cdol2Data]);
    if (!check.ok) {
      ctx.tvr.set('cdaFailed');
      return { ...answer, cdaFailed: true };
    }
    answer.cryptogram = check.cryptogram;
    ctx.card.set(0x9f26, check.cryptogram);
  }
  return answer;
}

/**
 * Book 3 5.4 / 10.8: when a CDOL asks for the TC Hash Value (98), it is the SHA-1 of
 * the TDOL data — the card's TDOL (97), or the terminal's default (TVR B5b8).
 */
function prepareTcHash(ctx: TransactionContext, cdol: Buffer): void {
  if (!dolRequests(cdol, 0x98)) return;
  let tdol = ctx.card.get(0x97);
  if (!tdol && ctx.application?.defaultTdol) {
    tdol = Buffer.from(ctx.application.defaultTdol, 'hex');
    ctx.tvr.set('defaultTdolUsed');
  }
  ctx.terminalData.set(
    0x98,
    createHash('sha1')
      .update(tdol ? ctx.dolData(tdol) : Buffer.alloc(0))
      .digest(),
  );
}

function buildDe55(ctx: TransactionContext, tags: readonly number[], scripts: ScriptResult[]): Tlv[] {
  const out: Tlv[] = [];
  for (const tag of tags) {
    const value = tag === 0x84 ? ctx.aid : ctx.lookup(tag);
    if (value) out.push({ tag, value: Buffer.from(value) });
  }
  if (scripts.length > 0) out.push({ tag: 0x9f5b, value: Buffer.concat(scripts.map((s) => s.value)) });
  return out;
}

/**
 * Tag 57 as DE35 text (`PAN=YYMMSSS...`, digits only, no F pad). A tag 57 that does not
 * parse is left out rather than sent: the request then goes with DE2 and DE14 alone, and
 * the issuer, who personalised the card, judges it.
 */
function track2Text(tag57: Buffer | undefined): string | undefined {
  if (tag57 === undefined) return undefined;
  try {
    const track = parseTrack2Equivalent(tag57);
    return `${track.pan}=${track.expiry}${track.serviceCode}${track.discretionary}`;
  } catch (error) {
    if (error instanceof PosError && error.code === 'CODPOS_EMV_BAD_TRACK') return undefined;
    throw error;
  }
}

/** Hands the card's identity to the `cardRead` callback, if any. */
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
