/**
 * fDDA, the Visa-style kernel's offline data authentication (Book C-3, fDDA version 01): the
 * card signed its dynamic data in the GPO answer (9F4B) over the reader's unpredictable
 * number, amount, currency and the card authentication related data (9F69); the reader
 * recovers the issuer and ICC keys from the certificates read in the records (emv/crypto/oda.ts,
 * as the contact kernel's DDA does) and checks that signature. Pure: no card I/O.
 */
import { recoverIccPublicKey, recoverIssuerPublicKey, verifyDdaSignature } from '../crypto/oda.js';
import { dateValue } from '../kernel/context.js';
import type { CaPublicKey, RevokedCertificate } from '../kernel/types.js';

export interface FddaInput {
  /** Card data by tag: FCI, GPO answer and records. */
  card: ReadonlyMap<number, Buffer>;
  /** Terminal data by tag: 9F37, 9F02, 5F2A and 9A as sent to the card. */
  terminal: ReadonlyMap<number, Buffer>;
  /** The selected AID (its first 5 bytes are the RID the CA key is looked up under). */
  aid: Buffer;
  caKeys: readonly CaPublicKey[];
  revoked?: readonly RevokedCertificate[];
  /** The records flagged for ODA by the AFL (70 template contents), with the AIP when 9F4A asks. */
  staticData: Buffer | undefined;
}

export type FddaResult = { ok: true } | { ok: false; failure: string; missingData: boolean };

const REQUIRED = [0x8f, 0x90, 0x9f32, 0x9f46, 0x9f47, 0x9f4b, 0x9f69, 0x5a] as const;

function hexOf(tag: number): string {
  return tag.toString(16).toUpperCase();
}

export function verifyFdda(input: FddaInput): FddaResult {
  const { card, terminal } = input;
  const absent = REQUIRED.filter((tag) => !card.has(tag));
  if (absent.length > 0) return { ok: false, failure: `missing ${absent.map(hexOf).join(', ')}`, missingData: true };
  const cardAuthentication = card.get(0x9f69)!;
  if (cardAuthentication[0] !== 0x01)
    return {
      ok: false,
      failure: `card authentication related data (9F69) is fDDA version ${cardAuthentication[0] ?? 'none'}, not 01`,
      missingData: false,
    };
  if (!input.staticData)
    return {
      ok: false,
      failure: 'static data to authenticate is malformed (record not 70, or 9F4A names more than 82)',
      missingData: false,
    };
  const rid = input.aid.subarray(0, 5).toString('hex').toUpperCase();
  const index = card.get(0x8f)!.toString('hex').toUpperCase();
  const issuerCertificate = card.get(0x90)!;
  const today = terminal.get(0x9a)!.toString('hex');
  const capk = input.caKeys.find(
    (k) =>
      k.rid.toUpperCase() === rid &&
      k.index.toUpperCase() === index &&
      k.modulus.length / 2 === issuerCertificate.length &&
      (k.expiry === '000000' || dateValue(k.expiry) >= dateValue(today)),
  );
  if (!capk) return { ok: false, failure: `no usable CA public key for RID ${rid} index ${index}`, missingData: false };
  const pan = card.get(0x5a)!.toString('hex').toUpperCase().replace(/F+$/, '');
  const revoked = input.revoked ?? [];
  const issuer = recoverIssuerPublicKey({
    capk: { rid: capk.rid, index: capk.index, modulus: capk.modulus, exponent: capk.exponent },
    certificate: issuerCertificate,
    remainder: card.get(0x92),
    exponent: card.get(0x9f32)!,
    pan,
    transactionDate: today,
    isRevoked: (r, i, serial) =>
      revoked.some(
        (x) => x.rid.toUpperCase() === r && x.index.toUpperCase() === i && x.serial.toUpperCase() === serial,
      ),
  });
  if (!issuer.ok) return { ok: false, failure: `${issuer.failed}: ${issuer.reason}`, missingData: false };
  const icc = recoverIccPublicKey({
    issuer: issuer.issuer,
    certificate: card.get(0x9f46)!,
    remainder: card.get(0x9f48),
    exponent: card.get(0x9f47)!,
    staticData: input.staticData,
    pan,
    transactionDate: today,
  });
  if (!icc.ok) return { ok: false, failure: `${icc.failed}: ${icc.reason}`, missingData: false };
  // fDDA 01: the terminal dynamic data the card signed over.
  const signedOver = Buffer.concat([
    terminal.get(0x9f37)!,
    terminal.get(0x9f02)!,
    terminal.get(0x5f2a)!,
    cardAuthentication,
  ]);
  const signature = verifyDdaSignature(icc.icc, card.get(0x9f4b)!, signedOver);
  if (!signature.ok) return { ok: false, failure: `${signature.failed}: ${signature.reason}`, missingData: false };
  return { ok: true };
}
