import t from 'tap';
import {
  countOneBits,
  deriveIpek,
  deriveTdesKeys,
  deriveTransactionKey,
  isValidTdesCounter,
  nextKsn,
  parseTdesKsn,
  tdesKsnCounter,
  tdesWorkingKeys,
} from '../../../emv/crypto/dukpt-tdes.js';
import {
  iso9797Pad1,
  kcv,
  retailMac,
  tdesCbcEncrypt,
  tdesEcbDecrypt,
  tdesEcbEncrypt,
} from '../../../emv/crypto/primitives.js';
import { bytes, hex, named, vectors } from './vectors.js';

for (const v of vectors('tdes_dukpt')) {
  t.test(named(v), async (t) => {
    const ksn = parseTdesKsn(v.inputs.ksn);
    const e = v.expected;
    if (e.ipek !== undefined) {
      const ipek = deriveIpek(v.inputs.bdk, ksn);
      t.equal(hex(ipek), e.ipek, 'IPEK');
      t.equal(hex(kcv(ipek)), e.ipek_kcv, 'IPEK KCV');
    }
    if (e.current_key !== undefined) {
      const keys = deriveTdesKeys(v.inputs.bdk, ksn);
      t.equal(hex(keys.transactionKey), e.current_key, 'current (transaction) key');
      const epb = tdesEcbEncrypt(keys.pinKey, bytes(v.inputs.clear_pin_block));
      t.equal(hex(epb), e.encrypted_pin_block, 'encrypted PIN block under the PIN variant');
      t.equal(hex(tdesEcbDecrypt(keys.pinKey, epb)), v.inputs.clear_pin_block, 'host decrypts it back');
      const data = iso9797Pad1(Buffer.from(v.inputs.data_ascii, 'ascii'));
      t.equal(hex(tdesCbcEncrypt(keys.dataKey, data)), e.data_req, 'data encryption, request key');
      t.equal(hex(tdesCbcEncrypt(keys.dataResponseKey, data)), e.data_resp, 'data encryption, response key');
      t.equal(hex(retailMac(keys.macKey, data)), e.mac_req, 'X9.19 MAC, request key');
      t.equal(hex(retailMac(keys.macResponseKey, data)), e.mac_resp, 'X9.19 MAC, response key');
    }
    if (e.pin_key !== undefined) {
      const keys = tdesWorkingKeys(deriveTransactionKey(v.inputs.ipek, ksn));
      t.equal(hex(keys.pinKey), e.pin_key, 'PIN variant key');
      t.equal(hex(keys.macKey), e.mac_req_key, 'MAC request variant key');
      t.equal(
        hex(tdesEcbEncrypt(keys.pinKey, bytes(v.inputs.clear_pin_block))),
        e.encrypted_pin_block,
        'encrypted PIN block',
      );
    }
  });
}

t.test('the IPEK ignores the counter bits of the KSN it is given', async (t) => {
  const bdk = '0123456789ABCDEFFEDCBA9876543210';
  t.same(deriveIpek(bdk, parseTdesKsn('FFFF9876543210E00000')), deriveIpek(bdk, parseTdesKsn('FFFF9876543210EFF800')));
  t.notSame(
    deriveIpek(bdk, parseTdesKsn('FFFF9876543210E00000')),
    deriveIpek(bdk, parseTdesKsn('FFFF9876543211E00000')),
  );
});

t.test('KSN counter rules: 21 bits, at most 10 one-bits, skipping the rest', async (t) => {
  const ksn = parseTdesKsn('FFFF9876543210E00000');
  t.equal(tdesKsnCounter(ksn), 0);
  t.equal(hex(nextKsn(ksn)), 'FFFF9876543210E00001');
  // The KSN's fixed bits above the counter survive every step.
  t.equal(hex(nextKsn(parseTdesKsn('FFFF9876543210E003FE'))), 'FFFF9876543210E003FF', '10 one-bits is allowed');
  t.equal(
    hex(nextKsn(parseTdesKsn('FFFF9876543210E003FF'))),
    'FFFF9876543210E00400',
    '0x7FF (11 bits) is skipped by adding the lowest one-bit',
  );
  // Walk a stretch densely populated with >10-bit values and compare with brute force.
  let current = parseTdesKsn('FFFF9876543210E7F000');
  const walked: number[] = [];
  for (let i = 0; i < 200; i++) {
    current = nextKsn(current);
    walked.push(tdesKsnCounter(current));
  }
  const expected: number[] = [];
  for (let c = 0x07f001; expected.length < 200 && c <= 0x1fffff; c++) if (countOneBits(c) <= 10) expected.push(c);
  t.same(walked, expected, 'nextKsn visits exactly the valid counters, in order');
  t.ok(walked.every(isValidTdesCounter));
  t.throws(
    () => nextKsn(parseTdesKsn('FFFF9876543210FFF800')),
    { code: 'CODPOS_CRYPTO_KSN_EXHAUSTED' },
    'the last valid counter 1FF800 has no successor',
  );
});

t.test('counters a PIN pad never uses are refused by name', async (t) => {
  const ipek = '6AC292FAA1315B4D858AB3A3D7D5933A';
  t.throws(() => deriveTransactionKey(ipek, parseTdesKsn('FFFF9876543210E00000')), {
    code: 'CODPOS_CRYPTO_KSN_COUNTER',
    message: /counter is 0/,
  });
  t.throws(() => deriveTransactionKey(ipek, parseTdesKsn('FFFF9876543210E007FF')), {
    code: 'CODPOS_CRYPTO_KSN_COUNTER',
    message: /11 one-bits/,
  });
});

t.test('bad KSN and BDK input', async (t) => {
  t.throws(() => parseTdesKsn('FFFF9876543210E0000'), { code: 'CODPOS_CRYPTO_KSN_LENGTH' });
  t.throws(() => parseTdesKsn('123456789012345600000001'), {
    code: 'CODPOS_CRYPTO_KSN_LENGTH',
    message: /10 bytes long \(got 12\)/,
  });
  t.throws(() => deriveIpek('0123456789ABCDEF', parseTdesKsn('FFFF9876543210E00001')), {
    code: 'CODPOS_CRYPTO_KEY_LENGTH',
    message: /BDK/,
  });
});
