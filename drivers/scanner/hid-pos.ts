/**
 * HID POS barcode scanner reports (USB HID usage page 0x8C, "Bar Code Scanner").
 * The scanned-data input report we decode is the layout used by common HID POS
 * scanners (Honeywell, Zebra in HID POS mode):
 *
 *   byte 0        report id (0x02, scanned data)
 *   byte 1        number of data bytes in this report (0..56)
 *   bytes 2..4    AIM symbology identifier (`]E0`), or 3 zero bytes when off
 *   bytes 5..60   data, zero padded
 *   byte 61       1 when more data follows in the next report, else 0
 *
 * Long codes (a QR) span several reports; the decoder joins them. Pure.
 */
import { PosError } from '../../config/errors.js';
import { splitAim, type Symbology } from './aim.js';

export const HID_POS_USAGE_PAGE = 0x8c;
export const HID_POS_SCAN_REPORT_ID = 0x02;
export const HID_POS_DATA_BYTES = 56;
export const HID_POS_REPORT_LENGTH = 62;

export interface DecodedScan {
  symbology: Symbology;
  data: string;
}

export class HidPosDecoder {
  private parts: Buffer[] = [];
  private aim = '';

  /** Takes one input report; returns the scan it completes, if any. Reports of other ids are ignored. */
  push(report: Buffer): DecodedScan | undefined {
    if (report.length === 0 || report[0] !== HID_POS_SCAN_REPORT_ID) return undefined;
    if (report.length < 6)
      throw new PosError(
        'CODPOS_DEVICE_HID_REPORT',
        `HID POS report too short: ${report.length} bytes, need at least 6`,
      );
    const count = report[1]!;
    if (count > HID_POS_DATA_BYTES || 5 + count > report.length) {
      throw new PosError(
        'CODPOS_DEVICE_HID_REPORT',
        `HID POS report: byte 1 (data length) is ${count}, but the report holds at most ${Math.min(HID_POS_DATA_BYTES, report.length - 5)}`,
      );
    }
    if (this.parts.length === 0) this.aim = report.subarray(2, 5).toString('latin1').replace(/\0/g, '');
    this.parts.push(report.subarray(5, 5 + count));
    const more = report.length >= HID_POS_REPORT_LENGTH && report[HID_POS_REPORT_LENGTH - 1] === 1;
    if (more) return undefined;
    const data = Buffer.concat(this.parts).toString('latin1');
    this.parts = [];
    const split = splitAim(this.aim + data);
    return this.aim ? { symbology: split.symbology, data: split.data } : { symbology: 'unknown', data };
  }
}

/** Builds the reports a HID POS scanner sends for one code (used by the simulator). */
export function encodeHidPosReports(data: string, aimId = ''): Buffer[] {
  const bytes = Buffer.from(data, 'latin1');
  const reports: Buffer[] = [];
  for (let at = 0; at === 0 || at < bytes.length; at += HID_POS_DATA_BYTES) {
    const part = bytes.subarray(at, at + HID_POS_DATA_BYTES);
    const report = Buffer.alloc(HID_POS_REPORT_LENGTH);
    report[0] = HID_POS_SCAN_REPORT_ID;
    report[1] = part.length;
    report.write(aimId.padEnd(3, '\0').slice(0, 3), 2, 'latin1');
    part.copy(report, 5);
    report[HID_POS_REPORT_LENGTH - 1] = at + HID_POS_DATA_BYTES < bytes.length ? 1 : 0;
    reports.push(report);
  }
  return reports;
}
