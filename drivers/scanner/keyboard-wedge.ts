/**
 * USB HID keyboard-wedge scanners: the scanner types the code as a boot
 * keyboard. Each 8-byte boot report is [modifiers, reserved, key1..key6]
 * (usage IDs of the keys held down, HID Usage Tables page 0x07). A key is
 * typed when it appears in a report and was not in the previous one, so a key
 * held across reports is not repeated; shift (0x02 left, 0x20 right) selects
 * the upper character. Enter ends the code. Pure.
 */
import { PosError } from '../../config/errors.js';
import { splitAim, type Symbology } from './aim.js';

const SHIFT = 0x02 | 0x20;
const ENTER = 0x28;

/** US layout: usage id -> [unshifted, shifted]. */
const KEYS: Record<number, [string, string]> = {};
for (let i = 0; i < 26; i++) KEYS[0x04 + i] = [String.fromCharCode(97 + i), String.fromCharCode(65 + i)];
'1234567890'.split('').forEach((c, i) => (KEYS[0x1e + i] = [c, '!@#$%^&*()'[i]!]));
Object.assign(KEYS, {
  0x2c: [' ', ' '],
  0x2d: ['-', '_'],
  0x2e: ['=', '+'],
  0x2f: ['[', '{'],
  0x30: [']', '}'],
  0x31: ['\\', '|'],
  0x33: [';', ':'],
  0x34: ["'", '"'],
  0x35: ['`', '~'],
  0x36: [',', '<'],
  0x37: ['.', '>'],
  0x38: ['/', '?'],
  0x2b: ['\t', '\t'],
});

export class KeyboardWedgeDecoder {
  private held = new Set<number>();
  private typed = '';

  constructor(private readonly options: { aimIds: boolean } = { aimIds: false }) {}

  push(report: Buffer): { symbology: Symbology; data: string } | undefined {
    if (report.length !== 8)
      throw new PosError('CODPOS_DEVICE_HID_REPORT', `keyboard boot report must be 8 bytes, got ${report.length}`);
    const shift = (report[0]! & SHIFT) !== 0;
    const now = new Set<number>();
    let done: { symbology: Symbology; data: string } | undefined;
    for (const usage of report.subarray(2)) {
      if (usage === 0 || usage === 1) continue; // no key / rollover error
      now.add(usage);
      if (this.held.has(usage)) continue;
      if (usage === ENTER) {
        done = this.finish();
        continue;
      }
      const key = KEYS[usage];
      if (key) this.typed += shift ? key[1] : key[0];
    }
    this.held = now;
    return done;
  }

  private finish(): { symbology: Symbology; data: string } | undefined {
    const text = this.typed;
    this.typed = '';
    if (!text) return undefined;
    return this.options.aimIds ? splitAim(text) : { symbology: 'unknown', data: text };
  }
}

/** Usage id and shift for a character (simulator). */
export function keyOf(char: string): { usage: number; shift: boolean } {
  for (const [usage, [plain, shifted]] of Object.entries(KEYS)) {
    if (plain === char) return { usage: Number(usage), shift: false };
    if (shifted === char) return { usage: Number(usage), shift: true };
  }
  throw new PosError('CODPOS_USAGE_KEYBOARD_CHAR', `keyboard wedge: no key types ${JSON.stringify(char)}`);
}

/** The reports a wedge scanner sends to type `text` and Enter: a press then a release per key. */
export function encodeKeyboardReports(text: string): Buffer[] {
  const reports: Buffer[] = [];
  for (const char of text) {
    const { usage, shift } = keyOf(char);
    reports.push(Buffer.from([shift ? 0x02 : 0, 0, usage, 0, 0, 0, 0, 0]), Buffer.alloc(8));
  }
  reports.push(Buffer.from([0, 0, ENTER, 0, 0, 0, 0, 0]), Buffer.alloc(8));
  return reports;
}
