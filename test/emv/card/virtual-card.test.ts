/** The virtual card answers APDUs as a card would; its cryptograms verify on the issuer side. */
import t from 'tap';
import { VirtualCard, listCardProfiles, loadCardProfile } from '../../../emv/card/index.js';
import { decodeTlv, findTag } from '../../../emv/tlv/index.js';
import { cvnIccMasterKey, verifyCvnAc } from '../../../emv/crypto/cryptogram.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const sw = (r: Buffer) =>
  r
    .subarray(r.length - 2)
    .toString('hex')
    .toUpperCase();

t.test('shipped profiles', async (t) => {
  t.same(listCardProfiles(), ['expired', 'magstripe-only', 'mc-cda', 'mute-chip', 'sda', 'visa-dda']);
  t.throws(() => loadCardProfile('nope'), { code: 'CODPOS_EMV_UNKNOWN_CARD' });
  t.throws(() => loadCardProfile('../package'), { code: 'CODPOS_EMV_UNKNOWN_CARD' });
  const a = loadCardProfile('visa-dda');
  a.applications[0]!.atc = 999;
  t.equal(loadCardProfile('visa-dda').applications[0]!.atc, 0x10, 'each load is a fresh copy');
});

t.test('power and faults', async (t) => {
  const c = new VirtualCard(loadCardProfile('visa-dda'));
  t.throws(() => c.transmit(hex('00A4040000')), { code: 'CODPOS_EMV_CARD_NOT_POWERED' });
  t.equal(c.powerOn().toString('hex').toUpperCase(), '3B6800000073C84013009000');
  c.faults.mute = true;
  t.throws(() => c.transmit(hex('00A404000E315041592E5359532E444446303100')), { code: 'CODPOS_EMV_CHIP_MUTE' });
  t.throws(() => new VirtualCard(loadCardProfile('mute-chip')).powerOn(), { code: 'CODPOS_EMV_CHIP_MUTE' });
  t.throws(() => new VirtualCard(loadCardProfile('magstripe-only')).powerOn(), { code: 'CODPOS_EMV_NO_CHIP' });
});

t.test('T=0 behaviour: 61xx without Le, 6Cxx on a wrong Le, GET RESPONSE', async (t) => {
  const c = new VirtualCard(loadCardProfile('mc-cda'));
  c.powerOn();
  const noLe = c.transmit(hex('00A4040007A0000000041010'));
  t.match(sw(noLe), /^61/);
  const full = c.transmit(Buffer.from([0x00, 0xc0, 0x00, 0x00, noLe[1]!]));
  t.equal(sw(full), '9000');
  t.equal(
    findTag(decodeTlv(full.subarray(0, -2)), 0x84)!
      .value.toString('hex')
      .toUpperCase(),
    'A0000000041010',
  );
  t.equal(sw(c.transmit(hex('80A80000028300'))).slice(0, 2), '61', 'GPO without Le: 61xx');
  c.transmit(hex('00C0000000'));
  const wrongLe = c.transmit(hex('00B2010C05'));
  t.match(sw(wrongLe), /^6C/, 'READ RECORD with a wrong Le gets 6Cxx');
  const right = c.transmit(Buffer.from([0x00, 0xb2, 0x01, 0x0c, wrongLe[1]!]));
  t.equal(sw(right), '9000');
  t.equal(sw(c.transmit(hex('00B2090C00'))), '6A83', 'no such record');
  t.equal(sw(c.transmit(hex('80CA9F3600'))), '9000');
  t.equal(sw(c.transmit(hex('80CA9F7F00'))), '6A88', 'GET DATA of unknown data');
  t.equal(sw(c.transmit(hex('80AE8000020000'))), '6700', 'GENERATE AC with a CDOL1 of the wrong length');
  t.equal(sw(c.transmit(hex('00FF000000'))), '6D00', 'unknown instruction');
});

t.test('GPO refused twice, GENERATE AC sequence enforced', async (t) => {
  const c = new VirtualCard(loadCardProfile('visa-dda'));
  c.powerOn();
  t.equal(sw(c.transmit(hex('00A4040007A000000003101000'))), '9000');
  t.equal(sw(c.transmit(hex('80A80000028300 00'))), '6700', 'PDOL data missing: wrong length');
  t.equal(sw(c.transmit(hex('80A800000683040840084000'))), '9000');
  t.equal(sw(c.transmit(hex('80A800000683040840084000'))), '6985', 'a second GPO is refused');
  t.equal(sw(c.transmit(hex('0082000004 01020304'))), '6985', 'EXTERNAL AUTHENTICATE before an ARQC');
});

t.test('ARQC of each CVN verifies with the issuer master key (emv/crypto)', async (t) => {
  for (const name of ['visa-dda', 'mc-cda', 'sda']) {
    const c = new VirtualCard(loadCardProfile(name));
    c.powerOn();
    const app = c.profile.applications[0]!;
    c.transmit(Buffer.concat([Buffer.from([0x00, 0xa4, 0x04, 0x00, 7]), hex(app.aid), Buffer.from([0])]));
    const pdolLength = app.pdol ? 4 : 0;
    c.transmit(
      Buffer.concat([
        hex('80A80000'),
        Buffer.from([pdolLength + 2, 0x83, pdolLength]),
        Buffer.alloc(pdolLength, 0x08),
        Buffer.from([0]),
      ]),
    );
    const cdol1 = findTag(decodeTlv(hex(app.records['2.1']!)), 0x8c)!.value;
    const values = {
      '9F02': '000000001500',
      '9F03': '000000000000',
      '9F1A': '0840',
      '95': '0000048000',
      '5F2A': '0840',
      '9A': '261129',
      '9C': '00',
      '9F37': 'CAFEBABE',
    };
    // CDOL1 data in CDOL1 order; tags the CDOL asks for beyond these are zeros.
    let data = Buffer.alloc(0);
    for (let pos = 0; pos < cdol1.length;) {
      const tagLen = (cdol1[pos]! & 0x1f) === 0x1f ? 2 : 1;
      const tag = cdol1
        .subarray(pos, pos + tagLen)
        .toString('hex')
        .toUpperCase();
      const length = cdol1[pos + tagLen]!;
      data = Buffer.concat([
        data,
        values[tag as keyof typeof values] ? hex(values[tag as keyof typeof values]) : Buffer.alloc(length),
      ]);
      pos += tagLen + 1;
    }
    const answer = c.transmit(Buffer.concat([hex('80AE8000'), Buffer.from([data.length]), data, Buffer.from([0])]));
    t.equal(sw(answer), '9000', name);
    const items = decodeTlv(answer.subarray(0, -2));
    const top = items[0]!;
    const cid = top.tag === 0x80 ? top.value[0]! : findTag(items, 0x9f27)!.value[0]!;
    const atc = top.tag === 0x80 ? top.value.subarray(1, 3) : findTag(items, 0x9f36)!.value;
    const ac = top.tag === 0x80 ? top.value.subarray(3, 11) : findTag(items, 0x9f26)!.value;
    const iad = top.tag === 0x80 ? top.value.subarray(11) : findTag(items, 0x9f10)!.value;
    t.equal(cid, 0x80, `${name}: ARQC`);
    const iccMk = cvnIccMasterKey(app.cvn, app.issuerMasterKeys.ac, app.pan, app.panSequenceNumber);
    const tx = {
      amountAuthorized: hex(values['9F02']),
      amountOther: hex(values['9F03']),
      terminalCountryCode: hex(values['9F1A']),
      tvr: hex(values['95']),
      transactionCurrencyCode: hex(values['5F2A']),
      transactionDate: hex(values['9A']),
      transactionType: hex(values['9C']),
      unpredictableNumber: hex(values['9F37']),
      aip: hex(app.aip),
      atc,
      iad,
    };
    t.ok(verifyCvnAc(app.cvn, iccMk, tx, ac), `${name} (${app.cvn}): the issuer verifies the ARQC`);
    const tampered = { ...tx, amountAuthorized: hex('000000001501') };
    t.notOk(verifyCvnAc(app.cvn, iccMk, tampered, ac), `${name}: another amount does not verify`);
  }
});
