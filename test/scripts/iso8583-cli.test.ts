/**
 * `codpos decode iso8583` and `codpos encode iso8583`, run as the built CLI (dist/),
 * the way a technician runs them.
 */
import t from 'tap';
import { runCodpos } from '../helpers/cli.js';
import { decodeIso8583, encodeIso8583, frameMessage, iso87a, makeTpdu, pos87b } from '../../emv/iso8583/index.js';

const PAN = '4761739001010119';
const TRACK2 = '4761739001010119=22122011143804400000';
const PIN_BLOCK = '0123456789ABCDEF';
const ICC = '9F02060000000123455F340102';

const purchaseJson = {
  mti: '0200',
  fields: { 2: PAN, 3: '000000', 4: '000000001234', 11: '000042', 35: TRACK2, 41: 'TERM0001', 52: PIN_BLOCK, 55: ICC },
};
const purchase = encodeIso8583(
  { mti: '0200', fields: { ...purchaseJson.fields, 52: Buffer.from(PIN_BLOCK, 'hex'), 55: Buffer.from(ICC, 'hex') } },
  pos87b,
);
const purchaseHex = purchase.toString('hex').toUpperCase();

t.test('decode prints every field by name, card data masked', async (t) => {
  const result = runCodpos(['decode', 'iso8583', purchaseHex]);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /MTI\s+0200/);
  t.match(result.stdout, /2\s+Primary account number \(PAN\)\s+476173\*{6}0119/);
  t.match(result.stdout, /4\s+Amount, transaction\s+000000001234/);
  t.match(result.stdout, /35\s+Track 2 data\s+\[WIPED\]/);
  t.match(result.stdout, /52\s+PIN data\s+\[WIPED\]/);
  t.match(result.stdout, /55\s+ICC data\s+\[WIPED\]/);
  t.notMatch(result.stdout, new RegExp(`${PAN}|${PIN_BLOCK}|${ICC}|22122011143804400000`));
});

t.test('decode --unmask --json shows the values in clear, binary as hex, track 2 with =', async (t) => {
  const result = runCodpos(['decode', 'iso8583', purchaseHex, '--json', '--unmask']);
  t.equal(result.status, 0, result.stderr);
  const shown = JSON.parse(result.stdout);
  t.equal(shown.dialect, 'pos87b');
  t.same(shown.fields, purchaseJson.fields);
});

t.test('decode --json without --unmask stays masked', async (t) => {
  const shown = JSON.parse(runCodpos(['decode', 'iso8583', purchaseHex, '--json']).stdout);
  t.equal(shown.fields['2'], '476173******0119');
  t.equal(shown.fields['35'], '[WIPED]');
});

t.test('decode a framed message: 2-byte length + TPDU', async (t) => {
  const framed = frameMessage(purchase, { lengthHeader: 'binary2', tpdu: true }, { tpdu: makeTpdu('0010') });
  const result = runCodpos(['decode', 'iso8583', framed.toString('hex'), '--framing', 'len2-tpdu', '--json']);
  t.equal(result.status, 0, result.stderr);
  const shown = JSON.parse(result.stdout);
  t.same(shown.tpdu, { id: '60', destination: '0010', source: '0000' });
  t.equal(shown.fields['11'], '000042');
  const human = runCodpos(['decode', 'iso8583', framed.toString('hex'), '--framing', 'len2-tpdu']);
  t.match(human.stdout, /TPDU\s+id 60, destination NII 0010, source NII 0000/);
});

t.test('encode reads the issue JSON on stdin and prints hex that decodes back to it', async (t) => {
  const result = runCodpos(['encode', 'iso8583', '--dialect', 'pos87b'], { input: JSON.stringify(purchaseJson) });
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout.trim(), purchaseHex);
  const framed = runCodpos(['encode', 'iso8583', '--dialect', 'pos87b', '--framing', 'len2-tpdu'], {
    input: JSON.stringify({ ...purchaseJson, tpdu: '6000100000' }),
  });
  t.equal(framed.status, 0, framed.stderr);
  // Framed by hand, not by frameMessage(): a 2-byte big-endian length of what follows, the 5-byte TPDU, the message.
  const lengthOfRest = (5 + purchase.length).toString(16).toUpperCase().padStart(4, '0');
  t.equal(framed.stdout.trim(), lengthOfRest + '6000100000' + purchaseHex);
  const ascii = runCodpos(['encode', 'iso8583', '--dialect', 'iso87a'], {
    input: JSON.stringify({ mti: '0800', fields: { 11: '000001', 70: '301' } }),
  });
  t.equal(ascii.status, 0, ascii.stderr);
  t.equal(decodeIso8583(Buffer.from(ascii.stdout.trim(), 'hex'), iso87a).fields[70], '301');
});

t.test('bad input exits 2 naming the field and the byte offset, no stack trace', async (t) => {
  // Cut the message inside DE55 (the last field).
  const truncated = runCodpos(['decode', 'iso8583', purchaseHex.slice(0, -4)]);
  t.equal(truncated.status, 2);
  t.match(truncated.stderr, /field 55 \(ICC data\) at byte \d+: needs 13 bytes, 11 left/);
  t.notMatch(truncated.stderr, /\bat .*\.js:\d+/);

  const trailing = runCodpos(['decode', 'iso8583', purchaseHex + '00']);
  t.equal(trailing.status, 2);
  t.match(trailing.stderr, new RegExp(`byte ${purchase.length}: 1 bytes are left`));

  const letters = runCodpos(['encode', 'iso8583', '--dialect', 'pos87b'], {
    input: JSON.stringify({ mti: '0200', fields: { 4: '00000000ABCD' } }),
  });
  t.equal(letters.status, 2);
  t.match(letters.stderr, /field 4 \(Amount, transaction\): character 9 is not a digit/);

  const notHex = runCodpos(['encode', 'iso8583', '--dialect', 'pos87b'], {
    input: JSON.stringify({ mti: '0200', fields: { 52: 'XYZ' } }),
  });
  t.equal(notHex.status, 2);
  t.match(notHex.stderr, /field 52/);

  const dialect = runCodpos(['decode', 'iso8583', purchaseHex, '--dialect', 'iso99x']);
  t.equal(dialect.status, 2);
  t.match(dialect.stderr, /no dialect named "iso99x"; choose one of pos87b, iso87b, iso87a, iso93b/);

  const framing = runCodpos(['decode', 'iso8583', purchaseHex, '--framing', 'len3']);
  t.equal(framing.status, 2);
  t.match(framing.stderr, /no framing named "len3"/);

  const json = runCodpos(['decode', 'iso8583', purchaseHex, '--json', '--dialect', 'iso87a']);
  t.equal(json.status, 2);
  t.match(JSON.parse(json.stderr).error, /^CODPOS_ISO8583_/);
  t.notMatch(json.stderr, new RegExp(PAN));
});

t.test('the decode group is shared: iso8583 sits under `codpos decode`', async (t) => {
  const help = runCodpos(['decode', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /iso8583/);
});

t.test('a malformed HEX argument is a usage problem named as such', async (t) => {
  const odd = runCodpos(['decode', 'iso8583', '0200F']);
  t.equal(odd.status, 2);
  t.match(odd.stderr, /The HEX argument: hex must have an even number of digits/);
  const letters = runCodpos(['decode', 'iso8583', '02 00 ZZ']);
  t.equal(letters.status, 2);
  t.match(letters.stderr, /The HEX argument: character 5 is not a hex digit/);
});

t.test(
  'the help lists exactly the codec dialects and framings (the command module names them without loading the codec)',
  async (t) => {
    const { dialectNames, FRAMING_PRESETS } = await import('../../emv/iso8583/index.js');
    const help = runCodpos(['decode', 'iso8583', '--help']).stdout.replace(/\s+/g, ' ');
    const listed = /field layout: ([a-z0-9, ]+?) \(default: "pos87b"\)/.exec(help)?.[1]?.split(', ');
    t.same(listed, dialectNames());
    t.match(help, Object.keys(FRAMING_PRESETS).join('|'));
  },
);
