/**
 * PIN pad messages: the VeriFone PINpad 1000SE message set where it covers
 * our need, plus a documented codpos extension (docs/pinpad-protocol.md).
 * Pure encoding and parsing of message payloads; framing (STX..ETX / SI..SO
 * + LRC) and ACK/NAK are in drivers/framing and drivers/link.
 *
 *   host -> pad  Z2<SUB>text                 display text (SUB clears first)
 *   host -> pad  Z60.<PAN><FS>DUKPT ENCRYPTION   TDES DUKPT PIN entry, ISO 9564 format 0
 *   pad -> host  73.00000<KSN 10-20 hex, leading Fs suppressed><block 16 hex>
 *   host -> pad  72 (as an SI..SO control packet)  cancel the session
 *   extension:
 *   host -> pad  ZA60.<PAN><FS><aes128|aes256>     AES DUKPT PIN entry, ISO 9564 format 4
 *   pad -> host  7A.00000<KSN 24 hex><block 32 hex>
 *   host -> pad  ZX1                              identify + self-test
 *   pad -> host  7X1.<status>.<dukpt>.<KSN of the next entry>.<model>
 *   pad -> host  73.<code> / 7A.<code>           entry ended without a PIN (codes below)
 */
import { PosError } from '../../config/errors.js';

export const FS = '\x1c';
export const SUB = '\x1a';

/** Result codes in 73 / 7A answers (00000 = PIN captured). */
export const ENTRY_RESULT = {
  '00000': 'ok',
  '00005': 'cancelled on the PIN pad',
  '00006': 'PIN entry timed out',
  '00007': 'cancelled by the host',
  '00008': 'PIN pad key error (no key or KSN exhausted)',
  '00009': 'request refused (bad PAN or format)',
} as const;
export type EntryResultCode = keyof typeof ENTRY_RESULT;

export type DukptMode = 'tdes' | 'aes128' | 'aes256';

export type HostMessage =
  | { type: 'display'; text: string; clear: boolean }
  | { type: 'pin-entry'; dukpt: DukptMode; pan: string }
  | { type: 'identify' }
  | { type: 'cancel' };

export type PadMessage =
  | { type: 'pin-block'; dukpt: 'tdes' | 'aes'; ksn: string; block: string }
  | { type: 'entry-failed'; dukpt: 'tdes' | 'aes'; code: EntryResultCode; reason: string }
  | { type: 'identity'; selfTestOk: boolean; dukpt: DukptMode; ksn: string; model: string };

export function encodeHostMessage(message: HostMessage): { payload: string; control: boolean } {
  switch (message.type) {
    case 'display':
      return { payload: `Z2${message.clear ? SUB : ''}${message.text}`, control: false };
    case 'pin-entry':
      return message.dukpt === 'tdes'
        ? { payload: `Z60.${message.pan}${FS}DUKPT ENCRYPTION`, control: false }
        : { payload: `ZA60.${message.pan}${FS}${message.dukpt}`, control: false };
    case 'identify':
      return { payload: 'ZX1', control: false };
    case 'cancel':
      return { payload: '72', control: true };
  }
}

function bad(what: string): PosError {
  return new PosError('CODPOS_DEVICE_PINPAD_MESSAGE', `PIN pad message: ${what}`);
}

export function parseHostMessage(payload: string, control: boolean): HostMessage {
  if (control) {
    if (payload === '72') return { type: 'cancel' };
    throw bad(`unknown control packet ${JSON.stringify(payload.slice(0, 4))}`);
  }
  if (payload.startsWith('Z2')) {
    const clear = payload[2] === SUB;
    return { type: 'display', text: payload.slice(clear ? 3 : 2), clear };
  }
  // eslint-disable-next-line no-control-regex -- the PIN pad's protocol separates fields with FS (0x1C)
  let match = /^Z60\.(\d{1,19})\x1cDUKPT ENCRYPTION$/.exec(payload);
  if (match) return { type: 'pin-entry', dukpt: 'tdes', pan: match[1]! };
  // eslint-disable-next-line no-control-regex -- the PIN pad's protocol separates fields with FS (0x1C)
  match = /^ZA60\.(\d{1,19})\x1c(aes128|aes256)$/.exec(payload);
  if (match) return { type: 'pin-entry', dukpt: match[2] as DukptMode, pan: match[1]! };
  if (payload === 'ZX1') return { type: 'identify' };
  throw bad(`unknown or malformed request starting ${JSON.stringify(payload.slice(0, 4))}`);
}

export function encodePadMessage(message: PadMessage): string {
  switch (message.type) {
    case 'pin-block':
      // As VeriFone pads do, a TDES KSN goes out with its leading F digits suppressed.
      return message.dukpt === 'tdes'
        ? `73.00000${message.ksn.replace(/^F+/, '')}${message.block}`
        : `7A.00000${message.ksn}${message.block}`;
    case 'entry-failed':
      return `${message.dukpt === 'tdes' ? '73' : '7A'}.${message.code}`;
    case 'identity':
      return `7X1.${message.selfTestOk ? 'OK' : 'FAIL'}.${message.dukpt}.${message.ksn}.${message.model}`;
  }
}

export function parsePadMessage(payload: string): PadMessage {
  let match = /^(73|7A)\.(\d{5})([0-9A-F]*)$/.exec(payload);
  if (match) {
    const dukpt = match[1] === '73' ? 'tdes' : 'aes';
    const code = match[2]! as EntryResultCode;
    const rest = match[3]!;
    if (code !== '00000') {
      if (!(code in ENTRY_RESULT)) throw bad(`unknown result code ${code}`);
      return { type: 'entry-failed', dukpt, code, reason: ENTRY_RESULT[code] };
    }
    if (dukpt === 'tdes') {
      // KSN of 10..20 hex digits (leading Fs suppressed), then a 16-digit block.
      if (rest.length < 26 || rest.length > 36)
        throw bad(`73 answer carries ${rest.length} hex digits, expected 26 to 36 (KSN of 10-20 + PIN block of 16)`);
      return { type: 'pin-block', dukpt, ksn: rest.slice(0, -16).padStart(20, 'F'), block: rest.slice(-16) };
    }
    if (rest.length !== 56)
      throw bad(`7A answer carries ${rest.length} hex digits, expected 56 (KSN of 24 + PIN block of 32)`);
    return { type: 'pin-block', dukpt, ksn: rest.slice(0, 24), block: rest.slice(24) };
  }
  match = /^7X1\.(OK|FAIL)\.(tdes|aes128|aes256)\.([0-9A-F]+)\.(.*)$/.exec(payload);
  if (match)
    return {
      type: 'identity',
      selfTestOk: match[1] === 'OK',
      dukpt: match[2] as DukptMode,
      ksn: match[3]!,
      model: match[4]!,
    };
  throw bad(`unknown answer starting ${JSON.stringify(payload.slice(0, 4))}`);
}
