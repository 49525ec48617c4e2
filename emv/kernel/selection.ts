/**
 * Application selection (EMV Book 1 section 12):
 * 1. SELECT the Payment System Environment `1PAY.SYS.DDF01`; if the card has it, read the
 *    directory records (SFI from tag 88) and keep every ADF whose AID the terminal
 *    supports (exactly, or as a prefix when partial selection is allowed).
 * 2. Otherwise (or when the PSE gives nothing) walk the terminal's list of AIDs with
 *    SELECT by name, and SELECT next (P2 = 02) for partial matches.
 * 3. Order the candidates by priority (tag 87 low nibble, 1 = highest; 0 = none, last);
 *    an application with tag 87 bit 8 set needs the cardholder's confirmation.
 * 6A81 to a SELECT means the card is blocked or cannot select: the session ends.
 */
import { decodeTlv, findTag, type Tlv } from '../tlv/index.js';
import { CardChannel, commandApdu, SW_OK } from './apdu.js';
import type { CandidateApplication, TerminalApplication } from './types.js';

export const PSE_NAME = Buffer.from('1PAY.SYS.DDF01', 'ascii');

export const SW_CARD_BLOCKED = 0x6a81;
export const SW_FILE_NOT_FOUND = 0x6a82;
export const SW_RECORD_NOT_FOUND = 0x6a83;
export const SW_SELECTED_FILE_INVALIDATED = 0x6283;

export type SelectionResult =
  { kind: 'candidates'; candidates: CandidateApplication[]; usedPse: boolean } | { kind: 'card-blocked' };

export function selectByName(name: Buffer, next = false): Buffer {
  return commandApdu(0x00, 0xa4, 0x04, next ? 0x02 : 0x00, name, 0x00);
}

export function readRecordCommand(sfi: number, record: number): Buffer {
  return commandApdu(0x00, 0xb2, record, (sfi << 3) | 0x04, undefined, 0x00);
}

function safeDecode(data: Buffer): Tlv[] | undefined {
  try {
    return decodeTlv(data);
  } catch {
    return undefined;
  }
}

/** Which terminal application (index) matches a card AID, if any. */
export function matchTerminalAid(cardAid: Buffer, apps: TerminalApplication[]): number {
  const cardHex = cardAid.toString('hex').toUpperCase();
  for (let i = 0; i < apps.length; i++) {
    const app = apps[i]!;
    const termHex = app.aid.toUpperCase();
    if (cardHex === termHex) return i;
    if (app.partialSelection && cardHex.startsWith(termHex) && cardHex.length > termHex.length) return i;
  }
  return -1;
}

function candidateFrom(entry: Tlv[], aid: Buffer, terminalIndex: number): CandidateApplication {
  const label = findTag(entry, 0x50)?.value.toString('latin1');
  const preferredName = findTag(entry, 0x9f12)?.value.toString('latin1');
  const priority = findTag(entry, 0x87)?.value[0] ?? 0;
  return {
    aid: Buffer.from(aid),
    ...(label ? { label } : {}),
    ...(preferredName ? { preferredName } : {}),
    priorityIndicator: priority,
    terminalIndex,
  };
}

async function candidatesFromPse(
  channel: CardChannel,
  fci: Buffer,
  apps: TerminalApplication[],
): Promise<CandidateApplication[] | undefined> {
  const items = safeDecode(fci);
  const sfi = items && findTag(items, 0x88)?.value[0];
  if (sfi === undefined || sfi < 1 || sfi > 30) return undefined;
  const found: CandidateApplication[] = [];
  for (let record = 1; record <= 255; record++) {
    const { data, sw } = await channel.send(readRecordCommand(sfi, record));
    if (sw === SW_RECORD_NOT_FOUND) break;
    if (sw !== SW_OK) return undefined;
    const recordItems = safeDecode(data);
    if (!recordItems || recordItems[0]?.tag !== 0x70) return undefined;
    for (const entry of recordItems[0].children ?? []) {
      if (entry.tag !== 0x61 || !entry.children) continue;
      const aid = findTag(entry.children, 0x4f)?.value;
      if (!aid) continue;
      const index = matchTerminalAid(aid, apps);
      if (index >= 0) found.push(candidateFrom(entry.children, aid, index));
    }
  }
  return found;
}

async function candidatesFromAidList(
  channel: CardChannel,
  apps: TerminalApplication[],
): Promise<CandidateApplication[] | 'card-blocked'> {
  const found: CandidateApplication[] = [];
  for (const app of apps) {
    const name = Buffer.from(app.aid, 'hex');
    let next = false;
    for (let guard = 0; guard < 32; guard++) {
      const { data, sw } = await channel.send(selectByName(name, next));
      if (sw === SW_CARD_BLOCKED && !next && found.length === 0) return 'card-blocked';
      if (sw !== SW_OK && sw !== SW_SELECTED_FILE_INVALIDATED) break;
      const fci = safeDecode(data);
      const dfName = fci && findTag(fci, 0x84)?.value;
      if (!dfName) break;
      const index = matchTerminalAid(dfName, apps);
      // A blocked application (6283) is never a candidate, but SELECT next goes on past it.
      if (sw === SW_OK && index >= 0 && apps[index] === app && !found.some((c) => c.aid.equals(dfName))) {
        found.push(candidateFrom(fci, dfName, index));
      }
      // Only partial selection looks for further applications with the same prefix.
      if (!app.partialSelection) break;
      next = true;
    }
  }
  return found;
}

/** Builds the candidate list (Book 1 12.3). */
export async function buildCandidateList(channel: CardChannel, apps: TerminalApplication[]): Promise<SelectionResult> {
  const pse = await channel.send(selectByName(PSE_NAME));
  if (pse.sw === SW_CARD_BLOCKED) return { kind: 'card-blocked' };
  if (pse.sw === SW_OK) {
    const fromPse = await candidatesFromPse(channel, pse.data, apps);
    if (fromPse && fromPse.length > 0) return { kind: 'candidates', candidates: fromPse, usedPse: true };
  }
  const fromList = await candidatesFromAidList(channel, apps);
  if (fromList === 'card-blocked') return { kind: 'card-blocked' };
  return { kind: 'candidates', candidates: fromList, usedPse: false };
}

/** Orders by priority: 1 first ... 15 last, then the ones without priority in card order. */
export function orderCandidates(candidates: CandidateApplication[]): CandidateApplication[] {
  const rank = (c: CandidateApplication) => c.priorityIndicator & 0x0f || 16;
  return candidates
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

export function needsConfirmation(candidate: CandidateApplication): boolean {
  return (candidate.priorityIndicator & 0x80) !== 0;
}
