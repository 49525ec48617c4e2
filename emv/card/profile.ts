/**
 * A virtual card's profile: everything a personalisation bureau would load into a chip
 * (applications, records, keys, counters) plus the stripe, and faults to show on demand.
 * Profiles are JSON files in emv/card/profiles/, made once by make-profiles.ts so that
 * every test runs against the same bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import type { JsonWebKey } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import type { CvnProfile } from '../crypto/cryptogram.js';
import { packageRoot } from '../../config/paths.js';

/** Cryptogram version the card's applet computes its AC with (emv/crypto/cryptogram.ts profiles). */
export type CardCvn = CvnProfile;

export interface CardApplicationProfile {
  aid: string;
  label: string;
  /** Tag 87 value as hex (bit 8 = confirmation required, low nibble = priority). */
  priority?: string;
  preferredName?: string;
  /** A blocked application answers SELECT with this status (6283 per Book 1, or 6A81). */
  blocked?: '6283' | '6A81';
  /** PDOL (9F38) as hex, if the card asks for terminal data in GPO. */
  pdol?: string;
  /** AIP (82) and AFL (94) as hex. */
  aip: string;
  afl: string;
  /** GPO answer format: 1 = tag 80 (AIP || AFL), 2 = tag 77 template. */
  gpoFormat: 1 | 2;
  /** Records by "SFI.record", each the full record template (70 ...) as hex. */
  records: Record<string, string>;
  /** Data for GET DATA (tag hex -> value hex) besides the counters below. */
  getData?: Record<string, string>;
  /** ICC private key (JWK, RSA) when the card does DDA/CDA. */
  iccPrivateKey?: JsonWebKey;
  /** ICC Dynamic Number length in bytes (2..8). */
  idnLength?: number;
  cvn: CardCvn;
  /** The card's ICC master keys are derived from these issuer master keys (option A). */
  issuerMasterKeys: { ac: string; smi: string; smc: string };
  pan: string;
  panSequenceNumber: string;
  /** Application Transaction Counter now, and at the last online transaction. */
  atc: number;
  lastOnlineAtc: number;
  /** The cardholder's PIN as the issuer knows it: the host simulator checks online PIN blocks against it. */
  onlinePin?: string;
  /** Offline PIN (only used when the terminal is configured for offline PIN). */
  offlinePin?: string;
  pinTryLimit?: number;
  /** Card risk management: whether the card itself ever approves offline (TC on GEN AC 1). */
  offlineApprovalAllowed: boolean;
  /** Decline in GEN AC 2 when issuer authentication failed or was not done. */
  issuerAuthenticationRequired: boolean;
}

export interface CardProfile {
  name: string;
  description: string;
  /** ATR as hex; absent with `chip: false`. */
  atr?: string;
  /** false = no chip at all (magstripe-only card). */
  chip: boolean;
  /** The PSE `1PAY.SYS.DDF01` as an FCI + directory records; absent = no PSE. */
  pse?: { sfi: number; records: string[] };
  applications: CardApplicationProfile[];
  tracks: { track1?: string; track2?: string };
  faults?: CardFaults;
}

export interface CardFaults {
  /** The chip does not answer: powerOn throws CODPOS_EMV_CHIP_MUTE (magstripe fallback). */
  mute?: boolean;
  /** The ICC signs dynamic data with a corrupted signature (DDA/CDA failure). */
  wrongOdaSignature?: boolean;
}

// Profiles are data in the source tree (like config/*.json), read from dist/ too.
const profilesDir = join(packageRoot, 'emv', 'card', 'profiles');

/** Where shipped profiles live (source tree, also used from dist/). */
export function profilesDirectory(): string {
  return profilesDir;
}

export function listCardProfiles(): string[] {
  return readdirSync(profilesDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/** Loads a shipped profile by name; a fresh copy every call, so tests may change it. */
export function loadCardProfile(name: string): CardProfile {
  if (!/^[a-z0-9-]+$/.test(name) || !listCardProfiles().includes(name)) {
    throw new PosError(
      'CODPOS_EMV_UNKNOWN_CARD',
      `no virtual card profile named "${name}"; shipped: ${listCardProfiles().join(', ')}`,
      { details: { name } },
    );
  }
  return JSON.parse(readFileSync(join(profilesDir, name + '.json'), 'utf8')) as CardProfile;
}
