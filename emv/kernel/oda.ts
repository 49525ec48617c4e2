/**
 * Offline data authentication in the kernel (EMV Book 3 10.3, Book 2): choose SDA,
 * DDA or CDA from the AIP and the terminal capabilities, find the CA public key by RID,
 * index and key length (skipping expired ones), and run the checks of
 * emv/crypto/oda.ts. The outcome is written where the books say: TVR byte 1 and TSI.
 * CDA's signature comes with GENERATE AC; here the keys are recovered in advance and
 * `verifyCdaResponse` checks the signature when the cryptogram arrives.
 */
import {
  authenticateDda,
  authenticateSda,
  recoverIccPublicKey,
  recoverIssuerPublicKey,
  verifyCdaSignature,
  type CaPublicKey as CryptoCaKey,
  type IccPublicKey,
} from '../crypto/oda.js';
import { decodeTlv, findTag } from '../tlv/index.js';
import { commandApdu, SW_OK } from './apdu.js';
import { dateValue, type TransactionContext } from './context.js';
import { dolRequests } from './dol.js';
import type { CaPublicKey, OdaMethod } from './types.js';

export interface OdaState {
  method: OdaMethod;
  /** For CDA: the ICC key recovered before GENERATE AC; absent when CDA already failed. */
  cdaKey?: IccPublicKey;
  /** Why ODA failed, for logs (check name from emv/crypto/oda.ts or a missing tag). */
  failure?: string;
}

export function chooseOdaMethod(ctx: TransactionContext): OdaMethod {
  const aip = ctx.card.get(0x82)![0]!;
  const caps = ctx.terminalData.get(0x9f33)![2]!;
  if (aip & 0x01 && caps & 0x08) return 'CDA';
  if (aip & 0x20 && caps & 0x40) return 'DDA';
  if (aip & 0x40 && caps & 0x80) return 'SDA';
  return 'none';
}

/** The CA key for the application's RID and the card's index (8F), matching the certificate length. */
export function findCaKey(ctx: TransactionContext, index: Buffer, certificateLength: number): CaPublicKey | undefined {
  const rid = ctx.aid!.subarray(0, 5).toString('hex').toUpperCase();
  const idx = index.toString('hex').toUpperCase();
  const today = dateValue(ctx.dateDigits());
  return ctx.terminal.caKeys.find(
    (k) =>
      k.rid.toUpperCase() === rid &&
      k.index.toUpperCase() === idx &&
      k.modulus.length / 2 === certificateLength &&
      (k.expiry === '000000' || dateValue(k.expiry) >= today),
  );
}

/** Static data to authenticate: the records of the AFL plus what 9F4A names (only the AIP is allowed). */
function staticData(ctx: TransactionContext): Buffer | undefined {
  if (ctx.odaRecordsMalformed) return undefined;
  const tagList = ctx.card.get(0x9f4a);
  if (!tagList || tagList.length === 0) return ctx.odaInput;
  if (tagList.length !== 1 || tagList[0] !== 0x82) return undefined;
  return Buffer.concat([ctx.odaInput, ctx.card.get(0x82)!]);
}

function isRevokedFn(ctx: TransactionContext) {
  const list = ctx.terminal.revokedCertificates ?? [];
  return (rid: string, index: string, serial: string) =>
    list.some(
      (r) => r.rid.toUpperCase() === rid && r.index.toUpperCase() === index && r.serial.toUpperCase() === serial,
    );
}

function cryptoKey(k: CaPublicKey): CryptoCaKey {
  return { rid: k.rid, index: k.index, modulus: k.modulus, exponent: k.exponent };
}

const FAILED_BIT = { SDA: 'sdaFailed', DDA: 'ddaFailed', CDA: 'cdaFailed' } as const;

/** Runs SDA or DDA, or prepares CDA. Sets TVR/TSI. */
export async function offlineDataAuthentication(ctx: TransactionContext): Promise<OdaState> {
  const { tvr, tsi, card } = ctx;
  const method = chooseOdaMethod(ctx);
  if (method === 'none') {
    tvr.set('offlineDataAuthenticationNotPerformed');
    return { method };
  }
  if (method === 'SDA') tvr.set('sdaSelected');
  const failBit = FAILED_BIT[method];
  const failWith = (failure: string, missing = false): OdaState => {
    if (missing) tvr.set('iccDataMissing');
    tvr.set(failBit);
    tsi.set('offlineDataAuthenticationPerformed');
    return { method, failure };
  };

  const required = method === 'SDA' ? [0x8f, 0x90, 0x9f32, 0x93] : [0x8f, 0x90, 0x9f32, 0x9f46, 0x9f47];
  const absent = required.filter((t) => !card.has(t));
  if (absent.length > 0) return failWith(`missing ${absent.map((t) => t.toString(16).toUpperCase()).join(', ')}`, true);
  const capk = findCaKey(ctx, card.get(0x8f)!, card.get(0x90)!.length);
  if (!capk) return failWith('no usable CA public key for this RID and index');
  const data = staticData(ctx);
  if (!data) return failWith('static data to authenticate is malformed (record not 70, or 9F4A names more than 82)');
  const pan = ctx.pan() ?? '';
  const common = {
    capk: cryptoKey(capk),
    issuerCertificate: card.get(0x90)!,
    issuerRemainder: card.get(0x92),
    issuerExponent: card.get(0x9f32)!,
    staticData: data,
    pan,
    transactionDate: ctx.dateDigits(),
    isRevoked: isRevokedFn(ctx),
  };

  if (method === 'SDA') {
    const result = authenticateSda({ ...common, ssad: card.get(0x93)! });
    if (!result.ok) return failWith(result.failed);
    card.set(0x9f45, result.dac);
    tsi.set('offlineDataAuthenticationPerformed');
    return { method };
  }

  if (method === 'DDA') {
    const ddol =
      card.get(0x9f49) ?? (ctx.application?.defaultDdol ? Buffer.from(ctx.application.defaultDdol, 'hex') : undefined);
    if (!ddol) return failWith('no DDOL on the card and no default DDOL', true);
    if (!dolRequests(ddol, 0x9f37)) return failWith('DDOL does not ask for the unpredictable number');
    const ddolData = ctx.dolData(ddol);
    const { data: response, sw } = await ctx.channel.send(commandApdu(0x00, 0x88, 0x00, 0x00, ddolData));
    if (sw !== SW_OK) return failWith(`INTERNAL AUTHENTICATE answered ${sw.toString(16).toUpperCase()}`);
    let sdad: Buffer | undefined;
    try {
      const items = decodeTlv(response);
      sdad = items[0]?.tag === 0x80 ? items[0].value : findTag(items, 0x9f4b)?.value;
    } catch {
      sdad = undefined;
    }
    if (!sdad) return failWith('INTERNAL AUTHENTICATE gave no signed dynamic data');
    const result = authenticateDda({
      ...common,
      iccCertificate: card.get(0x9f46)!,
      iccRemainder: card.get(0x9f48),
      iccExponent: card.get(0x9f47)!,
      sdad,
      ddolData,
    });
    if (!result.ok) return failWith(result.failed);
    card.set(0x9f4c, result.idn);
    card.set(0x9f4b, sdad);
    tsi.set('offlineDataAuthenticationPerformed');
    return { method };
  }

  // CDA: recover both keys now; the signature is checked on the GENERATE AC answer.
  const issuer = recoverIssuerPublicKey({
    capk: common.capk,
    certificate: common.issuerCertificate,
    remainder: common.issuerRemainder,
    exponent: common.issuerExponent,
    pan,
    transactionDate: common.transactionDate,
    isRevoked: common.isRevoked,
  });
  if (!issuer.ok) return failWith(issuer.failed);
  const icc = recoverIccPublicKey({
    issuer: issuer.issuer,
    certificate: card.get(0x9f46)!,
    remainder: card.get(0x9f48),
    exponent: card.get(0x9f47)!,
    staticData: data,
    pan,
    transactionDate: common.transactionDate,
  });
  if (!icc.ok) return failWith(icc.failed);
  return { method, cdaKey: icc.icc };
}

/**
 * CDA on a GENERATE AC answer (Book 2 6.6.2): the signed CID must match, and the
 * transaction data hash covers PDOL data, CDOL1 data (and CDOL2 data for the second
 * GENERATE AC) and the answer's TLVs other than 9F4B, in the card's order.
 */
export function verifyCdaResponse(
  ctx: TransactionContext,
  oda: OdaState,
  response: { cid: number; tlvsWithoutSignature: Buffer; sdad?: Buffer },
  cdolData: Buffer[],
): { ok: true; cryptogram: Buffer; idn: Buffer } | { ok: false; failure: string } {
  ctx.tsi.set('offlineDataAuthenticationPerformed');
  if (!oda.cdaKey) return { ok: false, failure: oda.failure ?? 'CDA keys not recovered' };
  if (!response.sdad) return { ok: false, failure: 'GENERATE AC answer has no signed dynamic data (9F4B)' };
  const result = verifyCdaSignature({
    icc: oda.cdaKey,
    sdad: response.sdad,
    unpredictableNumber: ctx.terminalData.get(0x9f37)!,
    cid: response.cid,
    transactionData: Buffer.concat([ctx.pdolData, ...cdolData, response.tlvsWithoutSignature]),
  });
  if (!result.ok) return { ok: false, failure: result.failed };
  return { ok: true, cryptogram: result.cryptogram, idn: result.idn };
}
