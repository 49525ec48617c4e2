/** `codpos decode qr` as a technician runs it (the built CLI): MPM by data object, CPM masked, faults exit 2. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { runCodpos } from '../helpers/cli.js';
import { crc16Hex } from '../../emv/qr/index.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/emv-qr.json', import.meta.url), 'utf8')) as {
  mpm: { payload: string }[];
  cpm: { payload: string }[];
};
const MPM = vectors.mpm[0]!.payload;
const CPM_WITH_PAN = vectors.cpm[1]!.payload;
const CPM_WITH_TRACK = vectors.cpm[0]!.payload;

t.test('decode qr: an MPM payload by ID and name, templates indented, the CRC verdict', async (t) => {
  const r = runCodpos(['decode', 'qr', MPM]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^MPM \(merchant-presented\), CRC A13A ok$/m);
  t.match(r.stdout, /^29 Merchant Account Information \(30\)$/m);
  t.match(r.stdout, /^ {2}00 Globally Unique Identifier \(12\): D15600000000$/m);
  t.match(r.stdout, /^59 Merchant Name \(14\): BEST TRANSPORT$/m);
  t.match(r.stdout, /^ {2}01 Merchant Name - Alternate Language \(4\): 最佳运输$/m);
  t.match(r.stdout, /^54 Transaction Amount \(5\): 23\.72 {2}= 2372 minor units of currency 156$/m);
  t.match(r.stdout, /^ {2}07 Terminal Label \(8\): A6008667$/m);
  t.match(r.stdout, /^63 CRC \(4\): A13A {2}= CRC ok$/m);
});

t.test('decode qr --json: typed fields and the objects', async (t) => {
  const r = runCodpos(['decode', 'qr', MPM, '--json']);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    kind: string;
    crc: { value: string; ok: boolean };
    fields: { merchantName: string; amountMinor: number; additionalData: { terminalLabel: string } };
    objects: { id: string; children?: { id: string; name: string }[] }[];
  };
  t.equal(out.kind, 'mpm');
  t.same(out.crc, { value: 'A13A', ok: true });
  t.equal(out.fields.merchantName, 'BEST TRANSPORT');
  t.equal(out.fields.amountMinor, 2372);
  t.equal(out.fields.additionalData.terminalLabel, 'A6008667');
  t.equal(out.objects.length, 15);
  t.same(
    out.objects.find((o) => o.id === '62')!.children!.map((c) => c.name),
    ['Store Label', 'Customer Label', 'Terminal Label', 'Additional Consumer Data Request'],
  );
});

t.test('decode qr: a fault is named, exit 2, no stack trace', async (t) => {
  const wrongCrc = runCodpos(['decode', 'qr', `${MPM.slice(0, -4)}A13B`]);
  t.equal(wrongCrc.status, 2);
  t.match(wrongCrc.stderr, /CRC \(tag 63\) is wrong: expected A13A, found A13B/);
  t.notMatch(wrongCrc.stderr, /\n\s+at /);
  const body = `${MPM.replace('5802CN', '').slice(0, -4)}`;
  const noCountry = `${body}${crc16Hex(body)}`;
  const json = runCodpos(['decode', 'qr', noCountry, '--json']);
  t.equal(json.status, 2);
  const error = JSON.parse(json.stderr) as { error: string; message: string; details: unknown };
  t.equal(error.error, 'CODPOS_QR_MISSING_TAG');
  t.match(error.message, /country code \(tag 58\) is missing/);
  t.same(error.details, { tag: '58' });
  const missing = runCodpos(['decode', 'qr', '0002016304' + 'FFFF']);
  t.equal(missing.status, 2);
});

t.test('decode qr: a CPM code with card data masked unless --unmask', async (t) => {
  const r = runCodpos(['decode', 'qr', CPM_WITH_PAN]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^CPM \(consumer-presented\), CPV01, 2 application\(s\)$/m);
  t.match(r.stdout, /^85 Payload Format Indicator \(5\): 4350563031 {2}"CPV01"$/m);
  t.match(r.stdout, /^62 Common Data Template \(73\)$/m);
  t.match(r.stdout, /^ {2}5A Application Primary Account Number \(PAN\) \(8\): \[WIPED\] {2}"123456\*{6}3458"$/m);
  t.match(r.stdout, /^ {2}5F20 Cardholder Name \(14\): \[WIPED\]$/m);
  t.match(r.stdout, /^ {2}64 Common Data Transparent Template \(33\)$/m);
  t.notMatch(r.stdout, /1234567890123458/);
  t.notMatch(r.stdout, /CARDHOLDER/);
  const track = runCodpos(['decode', 'qr', CPM_WITH_TRACK, '--json']);
  t.equal(track.status, 0, track.stderr);
  t.notMatch(track.stdout, /1234567890123458/, 'track 2 equivalent wiped');
  t.match(track.stdout, /"\[WIPED\]"/);
  const clear = runCodpos(['decode', 'qr', CPM_WITH_PAN, '--unmask']);
  t.match(clear.stdout, /1234567890123458/);
  t.match(clear.stdout, /CARDHOLDER\/EMV/);
});

t.test('decode qr: a wallet token shows its last four unless --unmask; a bad consumer code exits 2', async (t) => {
  const token = 'A1b2C3d4E5f6G7h8';
  const masked = runCodpos(['decode', 'qr', token]);
  t.equal(masked.status, 0, masked.stderr);
  t.equal(masked.stdout.trim(), 'wallet token (16 characters): ************G7h8');
  const clear = JSON.parse(runCodpos(['decode', 'qr', token, '--json', '--unmask']).stdout) as unknown;
  t.same(clear, { kind: 'token', length: 16, token });
  const bad = runCodpos(['decode', 'qr', 'hQVDUFYwMWE=']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /is not BER-TLV: TLV: tag 61 has no length/);
});
