/**
 * Waybill numbers as couriers scan them. The UPU S10 identifier (UPU standard S10, used by
 * postal operators and many couriers): two letters of service indicator, an 8-digit serial,
 * one check digit, and the ISO 3166 alpha-2 code of the issuing country, e.g. RR123456785CH.
 * The check digit: the serial's digits weighted 8 6 4 2 3 5 9 7 and summed; 11 minus the sum
 * modulo 11, where 10 becomes 0 and 11 becomes 5. An operator with numbers of its own gives
 * their pattern instead (a regular expression the whole scan must match).
 */
export type WaybillCheck =
  | {
      valid: true;
      kind: 's10';
      waybill: string;
      serviceIndicator: string;
      serial: string;
      checkDigit: string;
      country: string;
    }
  | { valid: true; kind: 'operator'; waybill: string }
  | { valid: false; waybill: string; reason: string };

const S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7] as const;
const S10_SHAPE = /^([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})$/;

/** The S10 check digit of an 8-digit serial. */
export function s10CheckDigit(serial: string): number {
  if (!/^[0-9]{8}$/.test(serial)) throw new TypeError(`an S10 serial is 8 digits, not "${serial}"`);
  const sum = S10_WEIGHTS.reduce((total, weight, i) => total + weight * Number(serial[i]), 0);
  const check = 11 - (sum % 11);
  return check === 10 ? 0 : check === 11 ? 5 : check;
}

/**
 * Checks a scanned waybill number: S10 when it has the S10 shape (and then its check digit
 * must hold), else the operator's pattern when one is given. Spaces a label prints between
 * groups are ignored; letters are taken in upper case.
 */
export function checkWaybill(scanned: string, options: { operatorPattern?: RegExp } = {}): WaybillCheck {
  const waybill = scanned.replace(/\s+/g, '').toUpperCase();
  const s10 = S10_SHAPE.exec(waybill);
  if (s10) {
    const [, serviceIndicator, serial, checkDigit, country] = s10 as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const expected = s10CheckDigit(serial);
    if (Number(checkDigit) !== expected)
      return {
        valid: false,
        waybill,
        reason: `S10 check digit is ${checkDigit}, the serial ${serial} gives ${expected}: a misread or mistyped number`,
      };
    return { valid: true, kind: 's10', waybill, serviceIndicator, serial, checkDigit, country };
  }
  if (options.operatorPattern?.test(waybill)) return { valid: true, kind: 'operator', waybill };
  return {
    valid: false,
    waybill,
    reason: options.operatorPattern
      ? `neither a UPU S10 number (2 letters, 9 digits, 2 letters) nor the operator's format ${String(options.operatorPattern)}`
      : 'not a UPU S10 number (2 letters, 8 digits and a check digit, 2 letters)',
  };
}
