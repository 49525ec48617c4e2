import t from 'tap';
import { createHmac } from 'node:crypto';
import {
  aesDerivationData,
  aesKsnCounter,
  deriveAesInitialKey,
  deriveAesKeys,
  deriveAesTransactionKey,
  deriveAesWorkingKey,
  makeAesKsn,
  nextAesKsn,
  parseAesKsn,
} from '../../../emv/crypto/dukpt-aes.js';
import { aesCbcEncrypt, aesCmac, iso9797Pad1 } from '../../../emv/crypto/primitives.js';
import { hex, named, vectors } from './vectors.js';

for (const v of vectors('aes_dukpt')) {
  t.test(named(v), async (t) => {
    const e = v.expected;
    if (e.initial_key !== undefined) {
      const ksn = makeAesKsn(v.inputs.initial_key_id, 0);
      t.equal(
        hex(aesDerivationData(0x8001, 'aes128', ksn.subarray(0, 8))),
        v.inputs.derivation_data,
        'derivation data block',
      );
      t.equal(hex(deriveAesInitialKey(v.inputs.bdk, ksn, 'aes128')), e.initial_key, 'initial key');
    }
    if (e.transaction_key !== undefined) {
      const ksn = parseAesKsn(v.inputs.ksn);
      const tk = deriveAesTransactionKey(v.inputs.initial_key, ksn);
      t.equal(hex(tk), e.transaction_key, 'transaction key');
      const data = Buffer.from(v.inputs.data_ascii, 'ascii');
      t.equal(
        hex(aesCmac(deriveAesWorkingKey(tk, ksn, 'macGeneration'), data)),
        e.cmac_req,
        'CMAC, MAC generation key (2000)',
      );
      t.equal(
        hex(aesCmac(deriveAesWorkingKey(tk, ksn, 'macVerification'), data)),
        e.cmac_resp,
        'CMAC, MAC verification key (2001)',
      );
      if (e.data_enc_req !== undefined) {
        const padded = iso9797Pad1(data, 16);
        t.equal(
          hex(aesCbcEncrypt(deriveAesWorkingKey(tk, ksn, 'dataEncryptionEncrypt'), padded)),
          e.data_enc_req,
          'data encryption key (3000)',
        );
        t.equal(
          hex(aesCbcEncrypt(deriveAesWorkingKey(tk, ksn, 'dataEncryptionDecrypt'), padded)),
          e.data_enc_resp,
          'data decryption key (3001)',
        );
      }
      if (e.hmac_sha256_req !== undefined) {
        const hmacKey = deriveAesWorkingKey(tk, ksn, 'macGeneration', 'hmac128');
        t.equal(
          createHmac('sha256', hmacKey).update(data).digest('hex').toUpperCase(),
          e.hmac_sha256_req,
          'HMAC-SHA256 key (algorithm 0005)',
        );
      }
    }
    if (e.pin_key_1 !== undefined) {
      const ksn1 = parseAesKsn(v.inputs.ksn_1);
      const tk1 = deriveAesTransactionKey(v.inputs.initial_key, ksn1);
      t.equal(hex(deriveAesWorkingKey(tk1, ksn1, 'pinEncryption')), e.pin_key_1, 'PIN key, counter 1');
      t.equal(hex(deriveAesWorkingKey(tk1, ksn1, 'macGeneration')), e.mac_gen_key_1, 'MAC generation key, counter 1');
      t.equal(
        hex(deriveAesWorkingKey(tk1, ksn1, 'dataEncryptionEncrypt')),
        e.data_enc_key_1,
        'data encryption key, counter 1',
      );
      const ksn2 = parseAesKsn(v.inputs.ksn_2);
      t.equal(
        hex(deriveAesWorkingKey(deriveAesTransactionKey(v.inputs.initial_key, ksn2), ksn2, 'pinEncryption')),
        e.pin_key_2,
        'PIN key, counter 2',
      );
    }
  });
}

t.test(
  'deriveAesKeys chains BDK -> initial key -> transaction key -> working keys [source: ANSI X9.24-3-2017 Annex B (AES-128 BDK)]',
  async (t) => {
    const keys = deriveAesKeys('FEDCBA9876543210F1F1F1F1F1F1F1F1', parseAesKsn('123456789012345600000001'), 'aes128');
    t.equal(hex(keys.initialKey), '1273671EA26AC29AFA4D1084127652A1');
    t.equal(hex(keys.transactionKey), '4F21B565BAD9835E112B6465635EAE44');
    t.equal(hex(keys.pinKey), 'AF8CB133A78F8DC2D1359F18527593FB');
    t.equal(hex(keys.macKey), 'A2DC23DE6FDE0824A2BC321E08E4B8B7');
    t.equal(hex(keys.dataKey), 'A35C412EFD41FDB98B69797C02DCD08F');
  },
);

t.test('AES-256 BDK derives 32-byte keys; working keys may not be stronger than their parent', async (t) => {
  const bdk256 = Buffer.alloc(32, 0x5a);
  const ksn = parseAesKsn('123456789012345600000001');
  const keys = deriveAesKeys(bdk256, ksn, 'aes256');
  t.equal(keys.initialKey.length, 32);
  t.equal(keys.pinKey.length, 32);
  // the second 16-byte block of a 256-bit key comes from key block counter 2
  t.notSame(keys.initialKey.subarray(0, 16), keys.initialKey.subarray(16));
  t.equal(deriveAesKeys(bdk256, ksn, 'aes256', 'aes128').pinKey.length, 16);
  t.throws(() => deriveAesWorkingKey(Buffer.alloc(16, 1), ksn, 'pinEncryption', 'aes256'), {
    code: 'CODPOS_CRYPTO_KEY_TYPE',
  });
  t.throws(() => deriveAesKeys(Buffer.alloc(16), ksn, 'aes256'), {
    code: 'CODPOS_CRYPTO_KEY_LENGTH',
    message: /32 bytes for key type aes256/,
  });
});

t.test('AES KSN counter rules: 32 bits, at most 16 one-bits', async (t) => {
  const ksn = parseAesKsn('123456789012345600000000');
  t.equal(hex(nextAesKsn(ksn)), '123456789012345600000001');
  t.equal(
    aesKsnCounter(nextAesKsn(parseAesKsn('12345678901234560000FFFF'))),
    0x10000,
    '16 one-bits allowed, then 0x10000',
  );
  t.equal(
    aesKsnCounter(nextAesKsn(parseAesKsn('12345678901234560001FFFE'))),
    0x20000,
    '0x1FFFF has 17 one-bits: skipped',
  );
  t.throws(() => nextAesKsn(parseAesKsn('1234567890123456FFFF0000')), { code: 'CODPOS_CRYPTO_KSN_EXHAUSTED' });
  t.throws(() => deriveAesTransactionKey(Buffer.alloc(16), parseAesKsn('123456789012345600000000')), {
    code: 'CODPOS_CRYPTO_KSN_COUNTER',
  });
  t.throws(() => deriveAesTransactionKey(Buffer.alloc(16), parseAesKsn('12345678901234560001FFFF')), {
    code: 'CODPOS_CRYPTO_KSN_COUNTER',
    message: /17 one-bits/,
  });
  t.throws(() => parseAesKsn('FFFF9876543210E00001'), {
    code: 'CODPOS_CRYPTO_KSN_LENGTH',
    message: /12 bytes long \(got 10\)/,
  });
});
