/**
 * The SDA, DDA and CDA vectors of the shared emv-crypto.json (copied to
 * test/vectors/emv-kernel-oda.json with their sources: Proxmark3 / emv-tools tests) run
 * through the kernel's ODA step — CA key lookup by RID/index/length, static data with
 * the 9F4A AIP, INTERNAL AUTHENTICATE over a card channel, the CDA check of a GENERATE
 * AC answer — and set TVR/TSI as the books say; a tampered byte fails them. The SDA and
 * DDA vectors also run through the whole kernel (runTransaction) on a card that serves
 * the vector's data as records, so the static data comes from READ RECORD as in a shop.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CardChannel } from '../../../emv/kernel/apdu.js';
import { TransactionContext } from '../../../emv/kernel/context.js';
import { offlineDataAuthentication, verifyCdaResponse } from '../../../emv/kernel/oda.js';
import { runTransaction } from '../../../emv/kernel/index.js';
import { decodeTlv, encodeTlv } from '../../../emv/tlv/index.js';
import { terminal, transaction, VISA_APP, MC_APP } from './fixtures.js';
import type { CaPublicKey } from '../../../emv/kernel/index.js';

interface OdaVector {
  name: string;
  source: string;
  inputs: Record<string, string>;
  expected: Record<string, string | boolean>;
}
const vectors = (
  JSON.parse(readFileSync(new URL('../../vectors/emv-kernel-oda.json', import.meta.url), 'utf8')) as {
    offline_data_authentication: OdaVector[];
  }
).offline_data_authentication;
const [sda, dda, cda] = vectors as [OdaVector, OdaVector, OdaVector];
const hex = (s: string) => Buffer.from(s, 'hex');

/** A context as the kernel has it after reading records: card data by tag, the static data, the AID. */
function contextFor(
  v: OdaVector,
  options: {
    aid: string;
    capabilities: string;
    date: string;
    aip: string;
    transmit?: (apdu: Buffer) => Buffer;
    caKeys?: CaPublicKey[];
  },
) {
  const capk: CaPublicKey = {
    rid: v.inputs.capk_rid!,
    index: v.inputs.capk_index!,
    modulus: v.inputs.capk_modulus!,
    exponent: v.inputs.capk_exponent!,
    expiry: '000000',
  };
  const ctx = new TransactionContext(
    new CardChannel(options.transmit ?? (() => Buffer.from('6D00', 'hex'))),
    terminal({ capabilities: options.capabilities, caKeys: options.caKeys ?? [capk] }),
    transaction({ date: new Date(options.date), unpredictableNumber: hex(v.inputs.un_9F37 ?? '00000000') }),
    { goOnline: () => ({ result: 'unable' }) },
  );
  ctx.aid = hex(options.aid);
  ctx.application = options.aid.startsWith('A000000003') ? VISA_APP : MC_APP;
  // The vector's static data is the records' TLVs followed by the AIP (9F4A = 82).
  const staticData = hex(v.inputs.static_data_to_authenticate!);
  ctx.odaInput = staticData.subarray(0, staticData.length - 2);
  ctx.addCardData(decodeTlv(ctx.odaInput), 'record');
  ctx.card.set(0x82, hex(options.aip));
  ctx.card.set(0x9f4a, hex('82'));
  ctx.card.set(0x8f, hex(v.inputs.capk_index!));
  ctx.card.set(0x90, hex(v.inputs.issuer_cert_90!));
  ctx.card.set(0x92, hex(v.inputs.issuer_remainder_92!));
  ctx.card.set(0x9f32, hex(v.inputs.issuer_exponent_9F32!));
  if (v.inputs.ssad_93) ctx.card.set(0x93, hex(v.inputs.ssad_93));
  if (v.inputs.icc_cert_9F46) {
    ctx.card.set(0x9f46, hex(v.inputs.icc_cert_9F46));
    ctx.card.set(0x9f47, hex(v.inputs.icc_exponent_9F47!));
  }
  if (!ctx.card.has(0x5a)) ctx.card.set(0x5a, hex(v.inputs.pan_5A_ignored_by_test ?? v.inputs.pan_5A!));
  return ctx;
}

t.test(`SDA vector through the kernel: ${sda.source}`, async (t) => {
  const ctx = contextFor(sda, {
    aid: 'A0000000031010',
    capabilities: 'E0F8C0',
    date: '2009-06-01T00:00:00Z',
    aip: '5C00',
  });
  const state = await offlineDataAuthentication(ctx);
  t.equal(state.method, 'SDA');
  t.equal(state.failure, undefined);
  t.equal(ctx.card.get(0x9f45)!.toString('hex').toUpperCase(), sda.expected.dac_9F45, 'DAC recovered into 9F45');
  t.same(ctx.tvr.setBits(), ['sdaSelected'], 'TVR: SDA selected, not failed');
  t.same(ctx.tsi.setBits(), ['offlineDataAuthenticationPerformed']);

  const tampered = contextFor(sda, {
    aid: 'A0000000031010',
    capabilities: 'E0F8C0',
    date: '2009-06-01T00:00:00Z',
    aip: '5C00',
  });
  tampered.odaInput = Buffer.from(tampered.odaInput);
  tampered.odaInput[5]! ^= 0x01;
  const bad = await offlineDataAuthentication(tampered);
  t.equal(bad.failure, 'ssad_hash');
  t.same(tampered.tvr.setBits(), ['sdaFailed', 'sdaSelected']);

  const late = contextFor(sda, {
    aid: 'A0000000031010',
    capabilities: 'E0F8C0',
    date: '2010-01-01T00:00:00Z',
    aip: '5C00',
  });
  t.equal(
    (await offlineDataAuthentication(late)).failure,
    'issuer_cert_expired',
    'the same card after its issuer certificate expired (12/09)',
  );

  const noKey = contextFor(sda, {
    aid: 'A0000000031010',
    capabilities: 'E0F8C0',
    date: '2009-06-01T00:00:00Z',
    aip: '5C00',
    caKeys: [],
  });
  t.match((await offlineDataAuthentication(noKey)).failure, /no usable CA public key/);
  t.same(noKey.tvr.setBits(), ['sdaFailed', 'sdaSelected']);

  const revoked = contextFor(sda, {
    aid: 'A0000000031010',
    capabilities: 'E0F8C0',
    date: '2009-06-01T00:00:00Z',
    aip: '5C00',
  });
  const serial = (sda.expected.recovered_issuer_cert_header as string).slice(16, 22);
  revoked.terminal.revokedCertificates = [{ rid: 'A000000003', index: '01', serial }];
  t.equal((await offlineDataAuthentication(revoked)).failure, 'issuer_cert_revoked');
});

t.test(`DDA vector through the kernel with INTERNAL AUTHENTICATE: ${dda.source}`, async (t) => {
  const commands: string[] = [];
  const transmit = (apdu: Buffer) => {
    commands.push(apdu.toString('hex').toUpperCase());
    // The card of the vector answers INTERNAL AUTHENTICATE with its SDAD (format 1).
    return Buffer.concat([encodeTlv([{ tag: 0x80, value: hex(dda.inputs.sdad_9F4B!) }]), hex('9000')]);
  };
  const ctx = contextFor(dda, {
    aid: 'A0000000041010',
    capabilities: 'E0F8C0',
    date: '2014-09-25T00:00:00Z',
    aip: '3900',
    transmit,
  });
  ctx.terminalData.set(0x9f37, hex(dda.inputs.ddol_data!));
  // The vector's records carry no DDOL (9F49): the terminal's default DDOL applies.
  t.notOk(ctx.card.has(0x9f49));
  ctx.application = { ...MC_APP, defaultDdol: '9F3704' };
  const state = await offlineDataAuthentication(ctx);
  t.equal(state.method, 'DDA', 'the terminal has no CDA capability here, so DDA is chosen');
  t.equal(state.failure, undefined);
  t.same(commands, ['0088000004' + dda.inputs.ddol_data], 'INTERNAL AUTHENTICATE with the DDOL data (9F37)');
  t.equal(ctx.card.get(0x9f4c)!.toString('hex').toUpperCase(), dda.expected.idn_9F4C);
  t.same(ctx.tvr.setBits(), []);
  t.same(ctx.tsi.setBits(), ['offlineDataAuthenticationPerformed']);

  const wrongUn = contextFor(dda, {
    aid: 'A0000000041010',
    capabilities: 'E0F8C0',
    date: '2014-09-25T00:00:00Z',
    aip: '3900',
    transmit,
  });
  wrongUn.terminalData.set(0x9f37, hex('00000001'));
  wrongUn.application = { ...MC_APP, defaultDdol: '9F3704' };
  t.equal((await offlineDataAuthentication(wrongUn)).failure, 'sdad_hash', 'signed over another unpredictable number');
  t.same(wrongUn.tvr.setBits(), ['ddaFailed']);
});

t.test(`CDA vector through the kernel's GENERATE AC check: ${cda.source}`, async (t) => {
  const ctx = contextFor(cda, {
    aid: 'A0000000041010',
    capabilities: 'E0F8C8',
    date: '2014-09-25T00:00:00Z',
    aip: '3900',
  });
  const state = await offlineDataAuthentication(ctx);
  t.equal(state.method, 'CDA');
  t.ok(state.cdaKey, 'ICC key recovered before GENERATE AC');
  t.same(ctx.tvr.setBits(), []);
  const answer = {
    cid: 0x40,
    tlvsWithoutSignature: hex(cda.inputs.genac_response_tlvs_excluding_9F4B!),
    sdad: hex(cda.inputs.sdad_9F4B!),
  };
  const check = verifyCdaResponse(ctx, state, answer, [hex(cda.inputs.cdol1_related_data!)]);
  t.same(
    check.ok
      ? { cryptogram: check.cryptogram.toString('hex').toUpperCase(), idn: check.idn.toString('hex').toUpperCase() }
      : check,
    {
      cryptogram: cda.expected.application_cryptogram_9F26,
      idn: cda.expected.idn_9F4C,
    },
  );
  t.same(ctx.tsi.setBits(), ['offlineDataAuthenticationPerformed']);
  const otherCid = verifyCdaResponse(ctx, state, { ...answer, cid: 0x80 }, [hex(cda.inputs.cdol1_related_data!)]);
  t.same(otherCid, { ok: false, failure: 'cda_cid_mismatch' });
  const otherData = hex(cda.inputs.cdol1_related_data!);
  otherData[0]! ^= 0x01;
  t.same(verifyCdaResponse(ctx, state, answer, [otherData]), { ok: false, failure: 'cda_transaction_data_hash' });
});

/**
 * The whole kernel over a card that carries a vector's data: the record of the AFL's
 * ODA entry is the vector's static data (without the AIP, which 9F4A adds), a second
 * record outside ODA holds the certificates, CDOLs and CVM list. So READ RECORD builds
 * the static data the vector was signed over, and a changed byte in that record fails it.
 */
function vectorCard(v: OdaVector, options: { aid: string; aip: string; tamper?: boolean }) {
  const staticData = hex(v.inputs.static_data_to_authenticate!);
  const odaRecord = Buffer.from(staticData.subarray(0, staticData.length - 2));
  if (staticData.subarray(-2).toString('hex').toUpperCase() !== options.aip)
    throw new Error(`${v.name}: the static data does not end with the AIP ${options.aip}`);
  // The last byte of the record is a value byte (of 9F0F or 8D): changing it keeps the TLV well formed.
  if (options.tamper) odaRecord[odaRecord.length - 1]! ^= 0x01;
  const other: Array<[number, string]> = [
    [0x8f, v.inputs.capk_index!],
    [0x90, v.inputs.issuer_cert_90!],
    [0x9f32, v.inputs.issuer_exponent_9F32!],
    [0x9f4a, '82'],
    [0x8c, '9F02069F1A0295055F2A029A039C019F3704'],
    [0x8d, '8A02'],
    [0x8e, '000000000000000000001F00'],
  ];
  if (v.inputs.issuer_remainder_92) other.push([0x92, v.inputs.issuer_remainder_92]);
  if (v.inputs.ssad_93) other.push([0x93, v.inputs.ssad_93]);
  if (v.inputs.icc_cert_9F46) other.push([0x9f46, v.inputs.icc_cert_9F46], [0x9f47, v.inputs.icc_exponent_9F47!]);
  // What the vector's record already carries (the DDA and CDA cards have their own CDOLs, CVM list, 9F4A) stays there.
  const inOdaRecord = new Set(decodeTlv(odaRecord).map((x) => x.tag));
  const records: Record<string, Buffer> = {
    '1.1': encodeTlv([{ tag: 0x70, value: odaRecord }]),
    '2.1': encodeTlv([
      {
        tag: 0x70,
        value: encodeTlv(
          other.filter(([tag]) => !inOdaRecord.has(tag)).map(([tag, value]) => ({ tag, value: hex(value) })),
        ),
      },
    ]),
  };
  const sent: string[] = [];
  const ok = (data: Buffer) => Buffer.concat([data, hex('9000')]);
  const transmit = (apdu: Buffer): Buffer => {
    const ins = apdu[1]!;
    if (ins === 0xa4) {
      const name = apdu.subarray(5, 5 + apdu[4]!);
      if (!name.equals(hex(options.aid))) return hex('6A82');
      return ok(
        encodeTlv([
          {
            tag: 0x6f,
            value: Buffer.alloc(0),
            children: [
              { tag: 0x84, value: name },
              { tag: 0xa5, value: Buffer.alloc(0), children: [{ tag: 0x50, value: Buffer.from('VECTOR') }] },
            ],
          },
        ]),
      );
    }
    sent.push(apdu.subarray(0, 2).toString('hex').toUpperCase());
    // GPO: format 1, AIP + AFL (SFI 1 record 1 for ODA; SFI 2 record 1 not).
    if (ins === 0xa8) return ok(encodeTlv([{ tag: 0x80, value: hex(options.aip + '08010101' + '10010100') }]));
    if (ins === 0xb2)
      return records[`${apdu[3]! >> 3}.${apdu[2]}`] ? ok(records[`${apdu[3]! >> 3}.${apdu[2]}`]!) : hex('6A83');
    // INTERNAL AUTHENTICATE: the vector card's signed dynamic data (format 1).
    if (ins === 0x88 && v.inputs.sdad_9F4B) return ok(encodeTlv([{ tag: 0x80, value: hex(v.inputs.sdad_9F4B) }]));
    // GENERATE AC: the card declines (AAC) whatever is asked, which ends the session offline.
    if (ins === 0xae) return ok(encodeTlv([{ tag: 0x80, value: hex('000001' + '1122334455667788') }]));
    return hex('6D00');
  };
  return { transmit, sent };
}

async function runVectorCard(
  v: OdaVector,
  options: { aid: string; aip: string; date: string; capabilities: string; tamper?: boolean },
) {
  const capk: CaPublicKey = {
    rid: v.inputs.capk_rid!,
    index: v.inputs.capk_index!,
    modulus: v.inputs.capk_modulus!,
    exponent: v.inputs.capk_exponent!,
    expiry: '000000',
  };
  const { transmit, sent } = vectorCard(v, options);
  const result = await runTransaction({
    transmit,
    terminal: terminal({
      capabilities: options.capabilities,
      caKeys: [capk],
      applications: [{ ...VISA_APP, aid: options.aid, defaultDdol: '9F3704' }],
    }),
    transaction: transaction({
      date: new Date(options.date),
      unpredictableNumber: hex(v.inputs.ddol_data ?? '12345678'),
    }),
    callbacks: { goOnline: () => ({ result: 'unable' }) },
  });
  return { result, sent };
}

t.test(`SDA vector through the whole kernel (records read by the AFL): ${sda.source}`, async (t) => {
  const options = { aid: 'A0000000031010', aip: '5C00', date: '2009-06-01T00:00:00Z', capabilities: 'E068C8' };
  const { result } = await runVectorCard(sda, options);
  t.equal(result.odaMethod, 'SDA');
  t.equal(result.reason, 'offline-declined', 'the session ran to GENERATE AC');
  t.equal(result.tvr[0], 0x02, 'TVR byte 1: SDA selected (B1b2) only: performed, not failed, no data missing');
  t.ok(result.tsiBits.includes('offlineDataAuthenticationPerformed'));
  const tampered = await runVectorCard(sda, { ...options, tamper: true });
  t.equal(tampered.result.tvr[0], 0x42, 'a changed byte in the ODA record: SDA failed (B1b7) + SDA selected (B1b2)');
  t.ok(tampered.result.tsiBits.includes('offlineDataAuthenticationPerformed'));
});

t.test(
  `DDA vector through the whole kernel (records read by the AFL, INTERNAL AUTHENTICATE): ${dda.source}`,
  async (t) => {
    // The terminal offers SDA and DDA but not CDA, so the card's AIP (DDA and CDA) gives DDA.
    const options = { aid: 'A0000000041010', aip: '3900', date: '2014-09-25T00:00:00Z', capabilities: 'E068C0' };
    const { result, sent } = await runVectorCard(dda, options);
    t.equal(result.odaMethod, 'DDA');
    t.equal(result.reason, 'offline-declined', 'the session ran to GENERATE AC');
    t.equal(result.tvr[0], 0x00, 'TVR byte 1 all clear: DDA performed and passed');
    t.ok(result.tsiBits.includes('offlineDataAuthenticationPerformed'));
    t.ok(sent.includes('0088'), 'INTERNAL AUTHENTICATE was sent');
    const tampered = await runVectorCard(dda, { ...options, tamper: true });
    t.equal(tampered.result.tvr[0], 0x08, 'a changed byte in the ODA record: DDA failed (B1b4)');
  },
);
