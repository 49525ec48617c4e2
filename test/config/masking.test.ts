import t from 'tap';
import {
  maskPan,
  maskPanForReceipt,
  scrubText,
  redact,
  luhnValid,
  maskIso8583Field,
  isSecretKeyName,
  WIPED,
} from '../../config/masking.js';

// Test PANs: 4761739001010119 is a published Visa test card (Visa ADVT); 5413330089010434 is a Mastercard test PAN (M-TIP).
const VISA = '4761739001010119';
const MC = '5413330089010434';

t.test('PAN shows first 6 and last 4 at most', async (t) => {
  t.equal(maskPan(VISA), '476173******0119');
  t.equal(maskPan('4761739001010119123'), '476173*********9123');
  t.equal(maskPan('12345'), WIPED, 'too short to be a PAN: nothing shown');
  t.equal(maskPanForReceipt(VISA), '************0119');
});

t.test('Luhn', async (t) => {
  t.ok(luhnValid(VISA));
  t.ok(luhnValid(MC));
  t.notOk(luhnValid('4761739001010118'));
  t.notOk(luhnValid('47617390010101A9'));
});

t.test('free text: track data wiped, Luhn-valid PANs masked, other numbers kept', async (t) => {
  t.equal(scrubText(`card ${VISA} declined`), 'card 476173******0119 declined');
  t.equal(scrubText(`t2 ;${VISA}=22122011143804400000? end`), `t2 ${WIPED} end`);
  t.equal(scrubText(`t1 %B${VISA}^CARDHOLDER/TEST^2212201100000000000000? end`), `t1 ${WIPED} end`);
  t.equal(
    scrubText('waybill 1234567890123 stan 000123'),
    'waybill 1234567890123 stan 000123',
    'not Luhn-valid: not a PAN',
  );
});

t.test(
  'a UUID stays whole even where its digits line up as a Luhn-valid run; a PAN beside it is still masked',
  async (t) => {
    // 24622-4988-7001 inside this UUIDv7 (seen in a daemon's event id) is 13 digits that pass Luhn.
    const id = '01a24622-4988-7001-acd1-9f70ef497225';
    t.ok(luhnValid('2462249887001'), 'the run inside it would pass as a PAN');
    t.equal(
      scrubText(`waybill.pickup id=${id} waybill=RR100000003CH`),
      `waybill.pickup id=${id} waybill=RR100000003CH`,
    );
    t.equal(scrubText(`id=${id.toUpperCase()}`), `id=${id.toUpperCase()}`, 'upper case too');
    t.equal(scrubText(`id=${id} card ${VISA}`), `id=${id} card 476173******0119`);
    t.equal(
      scrubText(`x${id}`),
      `x01a246224***7001-acd1-9f70ef497225`,
      'not UUID-shaped (a letter glued on): scrubbed as text',
    );
  },
);

t.test("a URL's password is wiped, its user, host and path kept", async (t) => {
  t.equal(scrubText('https://user:secret@host/'), `https://user:${WIPED}@host/`);
  t.equal(
    scrubText('posting to http://codpos:p%40ss:w0rd@10.0.0.5:8080/api/v1 failed'),
    `posting to http://codpos:${WIPED}@10.0.0.5:8080/api/v1 failed`,
  );
  t.equal(scrubText('proxy socks5://:only-a-password@proxy:1080'), `proxy socks5://:${WIPED}@proxy:1080`);
  t.equal(scrubText('https://host:8443/path?next=a@b'), 'https://host:8443/path?next=a@b', 'a port is not a password');
  t.equal(scrubText('https://token-as-user@host/'), 'https://token-as-user@host/', 'a user name alone stays');
  t.same(redact({ uplink: { url: 'https://u:hunter2@backend.example/api' } }), {
    uplink: { url: `https://u:${WIPED}@backend.example/api` },
  });
});

t.test('objects: secrets by key name wiped, PAN keys masked, deep', async (t) => {
  const out = redact({
    pan: VISA,
    track2: `${VISA}=2212`,
    pinBlock: '0123456789ABCDEF',
    ksn: 'FFFF9876543210E00001',
    nested: { bdk: '0123456789ABCDEFFEDCBA9876543210', note: `paid with ${MC}`, amount: 1500 },
    raw: Buffer.from('secret'),
  });
  t.same(out, {
    pan: '476173******0119',
    track2: WIPED,
    pinBlock: WIPED,
    ksn: 'FFFF9876543210E00001',
    nested: { bdk: WIPED, note: 'paid with 541333******0434', amount: 1500 },
    raw: '[6 bytes]',
  });
});

t.test(
  'secret key names: key material and track data, not every name ending in key or starting with track',
  async (t) => {
    for (const name of [
      'pinKey',
      'pin_key',
      'IPEK',
      'bdk',
      'dataKeyHex',
      'session-key',
      'privateKey',
      'apiKey',
      'zpk',
      'key',
      'track2',
      'Track2Equivalent',
      'track1_data',
      'pinBlock',
      'encryptedPinBlock',
      'cvv2',
    ]) {
      t.ok(isSecretKeyName(name), `${name} is wiped`);
    }
    for (const name of [
      'trackingNumber',
      'tracking_id',
      'idempotencyKey',
      'sortKey',
      'monkey',
      'ksn',
      'stan',
      'waybill',
    ]) {
      t.notOk(isSecretKeyName(name), `${name} stays readable`);
    }
    t.same(redact({ trackingNumber: 'RR123456785GB', idempotencyKey: 'abc' }), {
      trackingNumber: 'RR123456785GB',
      idempotencyKey: 'abc',
    });
  },
);

t.test('ISO 8583 fields: DE2 masked; DE35, 45, 52, 55 wiped', async (t) => {
  t.equal(maskIso8583Field(2, VISA), '476173******0119');
  for (const field of [35, 45, 52, 55]) t.equal(maskIso8583Field(field, 'AB'), WIPED, `DE${field}`);
  t.equal(maskIso8583Field(4, '000000001500'), '000000001500');
});
