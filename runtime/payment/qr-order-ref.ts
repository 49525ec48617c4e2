/**
 * The PSP's name for a QR payment's order (its orderRef), from the journal row's id and back.
 *
 * The wallet finds a merchant-presented order by the code's reference label, and an MPM
 * additional data value is at most 25 characters; the row id is a UUID (36). The orderRef is
 * the UUID's 16 bytes in base64url: 22 characters, all of the EMVCo "ans" set, and it turns back
 * into the row id exactly, so a notification or a wallet naming the order names the row.
 */
import { PosError } from '../../config/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ORDER_REF = /^[A-Za-z0-9_-]{22}$/;

/** The PSP's name for the order of a journal row (its id in 22 base64url characters). */
export function orderRefOf(rowId: string): string {
  if (!UUID.test(rowId))
    throw new PosError('CODPOS_SPOOL_BAD_RECORD', `QR payment id ${rowId} is not a journal id (a UUID)`, {
      details: { id: rowId },
    });
  return Buffer.from(rowId.replace(/-/g, ''), 'hex').toString('base64url');
}

/** The journal row an orderRef names, or undefined when it is not one of this terminal's. */
export function rowIdOf(orderRef: string): string | undefined {
  if (!ORDER_REF.test(orderRef)) return undefined;
  const hex = Buffer.from(orderRef, 'base64url').toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  // 22 characters carry 132 bits: only the spelling orderRefOf writes names the row.
  return hex.length === 32 && orderRefOf(id) === orderRef ? id : undefined;
}
