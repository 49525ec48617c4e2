import t from 'tap';
import { randomBytes } from 'node:crypto';
import { rsaPublicKey, rsaRecover } from '../../../emv/crypto/rsa.js';
import { capkChecksumValid } from '../../../emv/crypto/oda.js';
import { capks, hex } from './vectors.js';

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

const big = (b: Buffer): bigint => BigInt('0x' + (b.length ? b.toString('hex') : '0'));

for (const capk of capks()) {
  t.test(
    `CAPK ${capk.rid}/${capk.index} (${capk.modulus.length * 4} bits): checksum and raw recovery [source: ${capk.source}]`,
    async (t) => {
      t.ok(capkChecksumValid(capk), 'SHA-1(RID || index || modulus || exponent) matches');
      t.notOk(
        capkChecksumValid({ ...capk, exponent: capk.exponent === '03' ? '010001' : '03' }),
        'a different exponent breaks the checksum',
      );
      const key = rsaPublicKey(capk.modulus, capk.exponent);
      const n = big(key.modulus);
      for (let i = 0; i < 3; i++) {
        const input = randomBytes(key.modulus.length);
        input[0] = input[0]! % key.modulus[0]!; // below the modulus
        const expected = modPow(big(input), big(key.exponent), n)
          .toString(16)
          .padStart(key.modulus.length * 2, '0')
          .toUpperCase();
        t.equal(hex(rsaRecover(key, input)), expected, 'x^e mod n, as many bytes as the modulus');
      }
    },
  );
}

t.test('input length must equal the modulus length (OpenSSL would accept shorter input)', async (t) => {
  const capk = capks()[0]!;
  const key = rsaPublicKey(capk.modulus, capk.exponent);
  t.throws(() => rsaRecover(key, Buffer.alloc(127, 1)), {
    code: 'CODPOS_CRYPTO_RSA_INPUT_LENGTH',
    message: /128 bytes \(got 127\)/,
  });
  t.throws(() => rsaRecover(key, Buffer.alloc(129, 1)), { code: 'CODPOS_CRYPTO_RSA_INPUT_LENGTH' });
});

t.test('input not below the modulus is an authentication failure PosError, not a crash', async (t) => {
  const capk = capks()[0]!;
  const key = rsaPublicKey(capk.modulus, capk.exponent);
  t.throws(
    () => rsaRecover(key, Buffer.from(key.modulus)),
    { code: 'CODPOS_CRYPTO_RSA_INPUT_RANGE' },
    'input == modulus',
  );
  t.throws(
    () => rsaRecover(key, Buffer.alloc(128, 0xff)),
    { code: 'CODPOS_CRYPTO_RSA_INPUT_RANGE' },
    'input > modulus',
  );
  const justBelow = Buffer.from(key.modulus);
  justBelow[127] = justBelow[127]! - 1;
  t.equal(rsaRecover(key, justBelow).length, 128, 'modulus - 1 is accepted');
});

t.test('keys that cannot be RSA public keys are refused by name', async (t) => {
  const capk = capks()[0]!;
  t.throws(() => rsaPublicKey(capk.modulus.slice(0, -2) + '02', '03'), {
    code: 'CODPOS_CRYPTO_RSA_KEY',
    message: /odd/,
  });
  t.throws(() => rsaPublicKey('00' + capk.modulus.slice(2), '03'), {
    code: 'CODPOS_CRYPTO_RSA_KEY',
    message: /leading zero/,
  });
  t.throws(() => rsaPublicKey('C696', '03'), { code: 'CODPOS_CRYPTO_RSA_KEY', message: /got 2 bytes/ });
  t.throws(() => rsaPublicKey(capk.modulus, '01'), { code: 'CODPOS_CRYPTO_RSA_KEY', message: /exponent/ });
  t.throws(() => rsaPublicKey(capk.modulus, '04'), { code: 'CODPOS_CRYPTO_RSA_KEY', message: /exponent/ });
  t.throws(() => rsaPublicKey('XY', '03'), { code: 'CODPOS_CRYPTO_RSA_KEY', message: /hex/ });
});
