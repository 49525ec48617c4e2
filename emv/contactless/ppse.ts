/**
 * Combination selection (EMV Contactless Book B 3.3): SELECT the PPSE `2PAY.SYS.DDF01`, read
 * its directory entries, match them to the terminal's allowed combinations by AID and kernel
 * identifier (the candidate list), order by priority, and SELECT the first candidate; a SELECT
 * the card refuses drops that candidate and tries the next.
 */
import { CardChannel, SW_OK, commandApdu, swHex } from '../kernel/apdu.js';
import { decodeTlv, findTag, type Tlv } from '../tlv/index.js';
import type { ContactlessCombination, KernelId, PreProcessingIndicators } from './types.js';
import type { PreProcessedCombination } from './pre-processing.js';

export const PPSE_NAME = '2PAY.SYS.DDF01';

const TAG = {
  fci: 0x6f,
  dfName: 0x84,
  fciProprietary: 0xa5,
  fciIssuerDiscretionary: 0xbf0c,
  directoryEntry: 0x61,
  adfName: 0x4f,
  label: 0x50,
  priority: 0x87,
  kernelIdentifier: 0x9f2a,
  extendedSelection: 0x9f29,
} as const;

/** One application the card lists in its PPSE (a directory entry, tag 61). */
export interface PpseDirectoryEntry {
  adfName: Buffer;
  label?: string;
  /** Tag 87's low nibble; 0 when absent (no priority given). */
  priority: number;
  /** Tag 9F2A as the card sent it. */
  kernelIdentifier?: Buffer;
  /** Tag 9F29, kept for a kernel that uses it (this reader does not append it to the SELECT). */
  extendedSelection?: Buffer;
}

/** A combination the card and the terminal share: what final selection SELECTs and activates. */
export interface Candidate {
  entry: PpseDirectoryEntry;
  combination: ContactlessCombination;
  indicators: PreProcessingIndicators;
  /** Position in the PPSE, which breaks priority ties (the card's order). */
  order: number;
}

/** Default kernel of an AID with no kernel identifier (Book B 3.3.2.5, by registered application provider). */
const DEFAULT_KERNEL_BY_RID: Record<string, KernelId> = { A000000004: 2, A000000003: 3 };

export function selectPpseCommand(): Buffer {
  return commandApdu(0x00, 0xa4, 0x04, 0x00, Buffer.from(PPSE_NAME, 'ascii'), 0x00);
}

export function selectAidCommand(adfName: Buffer): Buffer {
  return commandApdu(0x00, 0xa4, 0x04, 0x00, adfName, 0x00);
}

function decodeOrUndefined(data: Buffer): Tlv[] | undefined {
  try {
    return decodeTlv(data);
  } catch {
    return undefined;
  }
}

/**
 * The directory entries of a PPSE FCI (6F > A5 > BF0C > 61...). A FCI that does not decode, or
 * has no directory, gives none: to Entry Point that is a card without PPSE.
 */
export function parsePpseFci(fci: Buffer): PpseDirectoryEntry[] {
  const top = decodeOrUndefined(fci);
  const template = top && findTag(top, TAG.fci);
  const proprietary = template?.children && findTag(template.children, TAG.fciProprietary);
  const discretionary = proprietary?.children && findTag(proprietary.children, TAG.fciIssuerDiscretionary);
  if (!discretionary?.children) return [];
  const entries: PpseDirectoryEntry[] = [];
  for (const item of discretionary.children) {
    if (item.tag !== TAG.directoryEntry || !item.children) continue;
    const adfName = findTag(item.children, TAG.adfName)?.value;
    // Book B 3.3.2.5: an entry without a well-formed ADF name (5 to 16 bytes) is skipped.
    if (!adfName || adfName.length < 5 || adfName.length > 16) continue;
    const entry: PpseDirectoryEntry = {
      adfName,
      priority: (findTag(item.children, TAG.priority)?.value[0] ?? 0) & 0x0f,
    };
    const label = findTag(item.children, TAG.label)?.value;
    if (label) entry.label = label.toString('latin1');
    const kernelIdentifier = findTag(item.children, TAG.kernelIdentifier)?.value;
    if (kernelIdentifier) entry.kernelIdentifier = kernelIdentifier;
    const extendedSelection = findTag(item.children, TAG.extendedSelection)?.value;
    if (extendedSelection) entry.extendedSelection = extendedSelection;
    entries.push(entry);
  }
  return entries;
}

/**
 * The kernel the card asks for (Book B 3.3.2.5): an international kernel identifier (byte 1
 * bits 8-7 = 00) names it in its low six bits; absent, empty or zero means the AID's default
 * kernel. A domestic kernel (bits 8-7 = 10 or 11) is none this reader has: undefined.
 */
export function requestedKernelId(entry: PpseDirectoryEntry): number | undefined {
  const identifier = entry.kernelIdentifier;
  if (identifier && identifier.length > 0 && identifier[0] !== 0) {
    if ((identifier[0]! & 0xc0) !== 0) return undefined;
    return identifier[0]! & 0x3f;
  }
  return DEFAULT_KERNEL_BY_RID[entry.adfName.subarray(0, 5).toString('hex').toUpperCase()];
}

/**
 * Book B 3.3.2.5: for each directory entry (in the card's order) and each allowed combination,
 * a candidate when the ADF name starts with the combination's AID and the requested kernel is
 * the combination's. Entries matching nothing are dropped.
 */
export function buildCandidates(
  entries: readonly PpseDirectoryEntry[],
  combinations: readonly PreProcessedCombination[],
): Candidate[] {
  const candidates: Candidate[] = [];
  entries.forEach((entry, order) => {
    const kernelId = requestedKernelId(entry);
    const adfHex = entry.adfName.toString('hex').toUpperCase();
    for (const { combination, indicators } of combinations) {
      if (indicators.contactlessApplicationNotAllowed) continue;
      if (!adfHex.startsWith(combination.aid.toUpperCase())) continue;
      if (kernelId !== combination.kernelId) continue;
      candidates.push({ entry, combination, indicators, order });
    }
  });
  return orderCandidates(candidates);
}

/** Highest priority first (1 is highest; 0 = none given, so last), ties in the card's order (Book B 3.3.3). */
export function orderCandidates(candidates: readonly Candidate[]): Candidate[] {
  const rank = (c: Candidate) => (c.entry.priority === 0 ? 16 : c.entry.priority);
  return [...candidates].sort((a, b) => rank(a) - rank(b) || a.order - b.order);
}

export type PpseResult = { entries: PpseDirectoryEntry[] } | { failed: string };

/** SELECT PPSE (Book B 3.3.2.2): the directory, or why there is none. */
export async function selectPpse(channel: CardChannel): Promise<PpseResult> {
  const response = await channel.send(selectPpseCommand());
  if (response.sw !== SW_OK) return { failed: `SELECT PPSE answered ${swHex(response.sw)}` };
  const entries = parsePpseFci(response.data);
  if (entries.length === 0) return { failed: 'the PPSE lists no application' };
  return { entries };
}

export interface SelectedCombination {
  candidate: Candidate;
  /** The FCI the card answered to SELECT of the AID. */
  fci: Buffer;
}

/**
 * Final combination selection (Book B 3.3.3): SELECT the first candidate; one the card refuses
 * (a status other than 9000) is removed from `candidates` and the next is tried. Undefined when
 * none is left.
 */
export async function selectFirstCandidate(
  channel: CardChannel,
  candidates: Candidate[],
): Promise<SelectedCombination | undefined> {
  while (candidates.length > 0) {
    const candidate = candidates[0]!;
    const response = await channel.send(selectAidCommand(candidate.entry.adfName));
    if (response.sw === SW_OK) return { candidate, fci: response.data };
    candidates.shift();
  }
  return undefined;
}
