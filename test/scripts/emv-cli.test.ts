/** `codpos decode tlv` and `codpos decode track` as a technician runs them (the built CLI). */
import t from 'tap';
import { runCodpos } from '../helpers/cli.js';

const RECORD = '701F5A084761739001010119570B4761739001010119D2212F5F20054A2E444F45';

t.test('decode tlv: names tags, nests templates, masks PAN, wipes track 2 and name', async (t) => {
  const r = runCodpos(['decode', 'tlv', RECORD]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^70 READ RECORD Response Message Template \(31\)$/m);
  t.match(
    r.stdout,
    /^ {2}5A Application Primary Account Number \(PAN\) \(8\): \[WIPED\] {2}"476173\*\*\*\*\*\*0119"$/m,
  );
  t.match(r.stdout, /^ {2}57 Track 2 Equivalent Data \(11\): \[WIPED\]$/m);
  t.notMatch(r.stdout, /4761739001010119/);
  t.notMatch(r.stdout, /J\.DOE/);
});

t.test('decode tlv --json and --unmask', async (t) => {
  const masked = JSON.parse(runCodpos(['decode', 'tlv', RECORD, '--json']).stdout) as Array<{
    tag: string;
    children: Array<{ tag: string; value: string; text?: string }>;
  }>;
  t.equal(masked[0]!.tag, '70');
  t.same(
    masked[0]!.children.map((c) => c.tag),
    ['5A', '57', '5F20'],
  );
  t.equal(masked[0]!.children[0]!.text, '476173******0119');
  const clear = JSON.parse(runCodpos(['decode', 'tlv', RECORD, '--json', '--unmask']).stdout) as typeof masked;
  t.equal(clear[0]!.children[0]!.value, '4761739001010119');
  t.equal(clear[0]!.children[1]!.value, '4761739001010119D2212F');
  t.equal(clear[0]!.children[2]!.text, 'J.DOE');
});

t.test('decode tlv: bad input exits 2 with the offset, no stack trace', async (t) => {
  const truncated = runCodpos(['decode', 'tlv', '5A0547']);
  t.equal(truncated.status, 2);
  t.match(truncated.stderr, /byte offset 1/);
  t.notMatch(truncated.stderr, /\n\s+at /);
  const json = runCodpos(['decode', 'tlv', '5A0547', '--json']);
  t.equal(json.status, 2);
  t.same(JSON.parse(json.stderr).details, { offset: 1 });
  t.equal(JSON.parse(json.stderr).error, 'CODPOS_TLV_TRUNCATED');
  const notHex = runCodpos(['decode', 'tlv', '5AZZ']);
  t.equal(notHex.status, 2);
  t.match(notHex.stderr, /non-hex character at position 2/);
});

t.test('decode track: masked PAN, expiry, service code explained, chip required', async (t) => {
  const r = runCodpos(['decode', 'track', ';4761739001010119=22122011143804400000?']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /PAN: +476173\*\*\*\*\*\*0119/);
  t.match(r.stdout, /expiry: +2022-12/);
  t.match(r.stdout, /service code: +201/);
  t.match(r.stdout, /interchange: +international interchange, use IC \(chip\) where feasible/);
  t.match(r.stdout, /chip required: yes/);
  t.notMatch(r.stdout, /4761739001010119/);
  const j = JSON.parse(
    runCodpos(['decode', 'track', '%B4111111111111111^SMITH/JOHN^2512101000000000?>', '--json']).stdout,
  ) as Record<string, unknown>;
  t.same(
    {
      track: j.track,
      pan: j.pan,
      name: j.name,
      expiry: j.expiry,
      serviceCode: j.serviceCode,
      chipRequired: j.chipRequired,
      luhnOk: j.luhnOk,
      lrcOk: j.lrcOk,
    },
    {
      track: 'track1',
      pan: '411111******1111',
      name: '[WIPED]',
      expiry: '2025-12',
      serviceCode: '101',
      chipRequired: false,
      luhnOk: true,
      lrcOk: true,
    },
  );
});

t.test('decode track: a bad track exits 2 naming the field, without echoing the track', async (t) => {
  const r = runCodpos(['decode', 'track', ';4761739001010119=2213201?']);
  t.equal(r.status, 2);
  t.match(r.stderr, /expiry month/);
  t.notMatch(r.stderr, /4761739001010119/);
});

t.test(
  'decode track: a track cut short (start sentinel, no end sentinel) exits 2 naming the missing end sentinel',
  async (t) => {
    const r = runCodpos(['decode', 'track', ';4761739001010119=22122011143804']);
    t.equal(r.status, 2, r.stdout);
    t.match(r.stderr, /end sentinel is missing/);
    t.notMatch(r.stderr, /4761739001010119/);
    t.equal(r.stdout, '');
  },
);

t.test('decode tlv explains DOLs, TVR, TSI, AIP and the CVM list', async (t) => {
  const r = runCodpos([
    'decode',
    'tlv',
    '8C099F02069F37049F3501' + '95050000048000' + '9B02E800' + '82023D00' + '8E0C00000000000000004203' + '1F03',
  ]);
  t.equal(r.status, 0, r.stderr);
  t.match(
    r.stdout,
    /= 9F02 Amount, Authorised \(Numeric\) \[6\]; 9F37 Unpredictable Number \[4\]; 9F35 Terminal Type \[1\]/,
  );
  t.match(r.stdout, /= onlinePinEntered, exceedsFloorLimit/);
  t.match(
    r.stdout,
    /= offlineDataAuthenticationPerformed, cardholderVerificationPerformed, cardRiskManagementPerformed, terminalRiskManagementPerformed/,
  );
  t.match(r.stdout, /= DDA, cardholder verification, terminal risk management, issuer authentication, CDA/);
  t.match(
    r.stdout,
    /= X=0 Y=0: online enciphered PIN if terminal supports the CVM, else next; no CVM required if terminal supports the CVM/,
  );
  const json = JSON.parse(runCodpos(['decode', 'tlv', '95050000048000', '--json']).stdout) as Array<{
    meaning: string;
  }>;
  t.equal(json[0]!.meaning, 'onlinePinEntered, exceedsFloorLimit');
});
