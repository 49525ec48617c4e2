/**
 * Magnetic stripe tracks per ISO/IEC 7813:
 * - track 1 (IATA, 6-bit alphanumeric): `%B<PAN>^<NAME>^<YYMM><SSS><discretionary>?<LRC>`
 * - track 2 (ABA, 4-bit numeric): `;<PAN>=<YYMM><SSS><discretionary>?<LRC>`
 * - tag 57 (Track 2 Equivalent Data) is track 2 in packed nibbles, separator D, padded F.
 * Sentinels and the LRC are optional on input (readers often strip them), but a track
 * with its start sentinel must have its end sentinel (else the read was truncated); when
 * an LRC follows the end sentinel it is checked. Parsing is strict: a bad character or a
 * missing field is a PosError naming the field and character offset.
 */
import { PosError } from '../../config/errors.js';
import { luhnValid } from '../../config/masking.js';

export interface TrackData {
  /** Which source the data came from. */
  kind: 'track1' | 'track2' | 'tag57';
  pan: string;
  /** Track 1 only: cardholder name as encoded (SURNAME/FIRST). */
  name?: string;
  /** YYMM. */
  expiry: string;
  serviceCode: string;
  discretionary: string;
  luhnOk: boolean;
  /** true/false when an LRC character was present and checked; undefined when absent. */
  lrcOk?: boolean;
}

function trackError(kind: string, field: string, offset: number, why: string): PosError {
  return new PosError('CODPOS_EMV_BAD_TRACK', `${kind}: ${field} ${why} at character offset ${offset}`, {
    details: { track: kind, field, offset },
  });
}

/** Track 1 LRC: XOR of the 6-bit characters from the start sentinel to the end sentinel. */
export function track1Lrc(withSentinels: string): string {
  let lrc = 0;
  for (const ch of withSentinels) lrc ^= (ch.charCodeAt(0) - 0x20) & 0x3f;
  return String.fromCharCode(lrc + 0x20);
}

/** Track 2 LRC: XOR of the 4-bit characters from the start sentinel to the end sentinel. */
export function track2Lrc(withSentinels: string): string {
  let lrc = 0;
  for (const ch of withSentinels) lrc ^= (ch.charCodeAt(0) - 0x30) & 0x0f;
  return String.fromCharCode(lrc + 0x30);
}

/** Splits off sentinels and an optional LRC; returns the body and the LRC verdict. */
function unwrap(track: string, start: string, lrcOf: (s: string) => string): { body: string; lrcOk?: boolean } {
  if (typeof track !== 'string') throw trackError(start === '%' ? 'track1' : 'track2', 'text', 0, 'is not a string');
  let text = track.trim();
  const hadStart = text.startsWith(start);
  if (hadStart) text = text.slice(1);
  const end = text.indexOf('?');
  if (end < 0) {
    // A read that kept its start sentinel keeps its end one too: without it the track was cut short.
    if (hadStart)
      throw trackError(
        start === '%' ? 'track1' : 'track2',
        'end sentinel',
        track.trim().length,
        'is missing (a start sentinel but no ?: truncated read)',
      );
    return { body: text };
  }
  const body = text.slice(0, end);
  const after = text.slice(end + 1);
  if (after.length === 0) return { body };
  if (after.length > 1)
    throw trackError(
      start === '%' ? 'track1' : 'track2',
      'data after end sentinel',
      end + 2 + (hadStart ? 1 : 0),
      'has more than one LRC character',
    );
  return { body, lrcOk: lrcOf(start + body + '?') === after };
}

export function parseTrack1(track: string): TrackData {
  const { body, lrcOk } = unwrap(track, '%', track1Lrc);
  const offsetBase = track.trim().startsWith('%') ? 1 : 0;
  if (body[0] !== 'B') throw trackError('track1', 'format code', offsetBase, `is "${body[0] ?? ''}", expected B`);
  const parts = body.slice(1).split('^');
  if (parts.length !== 3)
    throw trackError('track1', 'field separators', offsetBase + 1, `number ${parts.length - 1}, expected 2 (^)`);
  const [pan, name, rest] = parts as [string, string, string];
  if (!/^[0-9]{12,19}$/.test(pan)) throw trackError('track1', 'PAN', offsetBase + 1, 'must be 12 to 19 digits');
  if (name.length < 2 || name.length > 26)
    throw trackError('track1', 'name', offsetBase + 2 + pan.length, 'must be 2 to 26 characters');
  const restOffset = offsetBase + 3 + pan.length + name.length;
  if (!/^[0-9]{7}/.test(rest))
    throw trackError('track1', 'expiry and service code', restOffset, 'must be 7 digits (YYMM + SSS)');
  checkExpiry('track1', rest.slice(0, 4), restOffset);
  return {
    kind: 'track1',
    pan,
    name: name.trim(),
    expiry: rest.slice(0, 4),
    serviceCode: rest.slice(4, 7),
    discretionary: rest.slice(7),
    luhnOk: luhnValid(pan),
    ...(lrcOk === undefined ? {} : { lrcOk }),
  };
}

export function parseTrack2(track: string): TrackData {
  const { body, lrcOk } = unwrap(track, ';', track2Lrc);
  return parseTrack2Body(body, 'track2', track.trim().startsWith(';') ? 1 : 0, lrcOk);
}

function parseTrack2Body(body: string, kind: 'track2' | 'tag57', offsetBase: number, lrcOk?: boolean): TrackData {
  const sep = kind === 'tag57' ? body.indexOf('D') : body.search(/[=D]/);
  if (sep < 0)
    throw trackError(kind, 'field separator', offsetBase, kind === 'tag57' ? 'D is missing' : '= is missing');
  const pan = body.slice(0, sep);
  if (!/^[0-9]{12,19}$/.test(pan)) throw trackError(kind, 'PAN', offsetBase, 'must be 12 to 19 digits');
  const rest = body.slice(sep + 1);
  const restOffset = offsetBase + sep + 1;
  if (!/^[0-9]{7}/.test(rest))
    throw trackError(kind, 'expiry and service code', restOffset, 'must be 7 digits (YYMM + SSS)');
  const discretionary = rest.slice(7);
  const bad = discretionary.search(/[^0-9]/);
  if (bad >= 0) throw trackError(kind, 'discretionary data', restOffset + 7 + bad, 'has a non-digit');
  checkExpiry(kind, rest.slice(0, 4), restOffset);
  return {
    kind,
    pan,
    expiry: rest.slice(0, 4),
    serviceCode: rest.slice(4, 7),
    discretionary,
    luhnOk: luhnValid(pan),
    ...(lrcOk === undefined ? {} : { lrcOk }),
  };
}

/** Tag 57 value: packed nibbles, separator D, padded with F to a whole byte. */
export function parseTrack2Equivalent(value: Buffer): TrackData {
  const hex = value.toString('hex').toUpperCase();
  const body = hex.endsWith('F') ? hex.slice(0, -1) : hex;
  const bad = body.search(/[^0-9D]/);
  if (bad >= 0) throw trackError('tag57', 'nibble', bad, `"${body[bad]}" is not a digit or the separator D`);
  return parseTrack2Body(body, 'tag57', 0);
}

/** Parses track 1 or track 2 text, telling them apart by their first character. */
export function parseTrack(track: string): TrackData {
  if (typeof track !== 'string') throw trackError('track', 'text', 0, 'is not a string');
  const text = track.trim();
  if (text.startsWith('%') || text.startsWith('B')) return parseTrack1(text);
  if (text.startsWith(';') || /^[0-9]/.test(text)) return parseTrack2(text);
  throw trackError('track', 'start', 0, 'is neither track 1 (%B...) nor track 2 (;PAN=...)');
}

function checkExpiry(kind: string, yymm: string, offset: number): void {
  const month = Number(yymm.slice(2, 4));
  if (month < 1 || month > 12)
    throw trackError(kind, 'expiry month', offset + 2, `"${yymm.slice(2, 4)}" is not 01..12`);
}

/** A card is valid through the last day of its expiry month. A malformed YYMM is a PosError, never "not expired". */
export function isExpired(expiryYymm: string, today: Date): boolean {
  if (typeof expiryYymm !== 'string' || !/^[0-9]{4}$/.test(expiryYymm))
    throw trackError('expiry', 'YYMM', 0, 'must be 4 digits');
  checkExpiry('expiry', expiryYymm, -2);
  const year = 2000 + Number(expiryYymm.slice(0, 2));
  const month = Number(expiryYymm.slice(2, 4));
  const current = today.getUTCFullYear() * 12 + today.getUTCMonth() + 1;
  return current > year * 12 + month;
}
