import t from 'tap';
import { PosError } from '../../../config/errors.js';
import {
  decodePinBlock,
  encodePinBlock,
  panField16,
  pinField16,
  type PinBlockFormat,
  type RandomSource,
} from '../../../emv/crypto/pin-block.js';
import { aesEcbEncrypt } from '../../../emv/crypto/primitives.js';
import { deriveTdesKeys, parseTdesKsn } from '../../../emv/crypto/dukpt-tdes.js';
import { bytes, hex, named, vectors } from './vectors.js';

/** A deterministic random source: a counter, so every run and every test is reproducible. */
function counterRandom(seed = 0): RandomSource {
  let n = seed;
  return (size) => Buffer.from(Array.from({ length: size }, () => n++ & 0xff));
}

for (const v of vectors('pin_block_iso9564')) {
  t.test(named(v), async (t) => {
    const i = v.inputs;
    const e = v.expected;
    if (e.pin_block !== undefined && i.pin !== undefined) {
      t.equal(hex(encodePinBlock({ format: 0, pin: i.pin, pan: i.pan })), e.pin_block, 'encode');
      t.equal(decodePinBlock({ format: 0, block: e.pin_block, pan: i.pan }), i.pin, 'decode');
    }
    if (e.pin_block_1 !== undefined) {
      t.equal(
        hex(encodePinBlock({ format: 1, pin: i.pin_1, fill: i.fill_1 })),
        e.pin_block_1,
        'encode PIN 1 with the given fill',
      );
      t.equal(
        hex(encodePinBlock({ format: 1, pin: i.pin_2, fill: i.fill_2 })),
        e.pin_block_2,
        'encode PIN 2 with the given fill',
      );
      t.equal(decodePinBlock({ format: 1, block: e.pin_block_1 }), i.pin_1, 'decode PIN 1');
      t.equal(decodePinBlock({ format: 1, block: e.pin_block_2 }), i.pin_2, 'decode PIN 2');
    }
    if (i.pin_block !== undefined && e.pin !== undefined) {
      t.equal(decodePinBlock({ format: 3, block: i.pin_block, pan: i.pan }), e.pin, 'decode format 3');
      // Re-encoding with the fill the block carries gives the same block back.
      const fill = 'F'.repeat(14 - e.pin.length);
      t.equal(hex(encodePinBlock({ format: 3, pin: e.pin, pan: i.pan, fill })), i.pin_block, 're-encode format 3');
    }
    if (e.pin_field_first8 !== undefined) {
      t.equal(hex(pinField16(i.pin, Buffer.alloc(8)).subarray(0, 8)), e.pin_field_first8, 'format 4 PIN field');
      t.equal(hex(panField16(i.pan)), e.pan_field, 'format 4 PAN field');
    }
    if (i.random_fill !== undefined && i.key !== undefined) {
      t.equal(
        hex(encodePinBlock({ format: 4, pin: i.pin, pan: i.pan, key: i.key, fill: i.random_fill })),
        e.encrypted_pin_block,
        'format 4 encipher',
      );
      const fromSource = encodePinBlock({
        format: 4,
        pin: i.pin,
        pan: i.pan,
        key: i.key,
        random: () => bytes(i.random_fill),
      });
      t.equal(hex(fromSource), e.encrypted_pin_block, 'the same through the injected random source');
      t.equal(decodePinBlock({ format: 4, block: e.encrypted_pin_block, pan: i.pan, key: i.key }), i.pin, 'decipher');
    }
    if (i.encrypted_pin_block !== undefined) {
      t.equal(
        decodePinBlock({ format: 4, block: i.encrypted_pin_block, pan: i.pan, key: i.key }),
        e.pin,
        'format 4 decipher',
      );
    }
    if (i.pin_key !== undefined) {
      t.equal(hex(pinField16(i.pin, bytes(i.random_fill))), i.pin_field, 'plain PIN field');
      t.equal(hex(panField16(i.pan)), i.pan_field, 'PAN field');
      const a = aesEcbEncrypt(bytes(i.pin_key), bytes(i.pin_field));
      t.equal(hex(a), e.intermediate_A, 'intermediate block A');
      t.equal(hex(Buffer.from(a.map((b, k) => b ^ bytes(i.pan_field)[k]!))), e.intermediate_B, 'intermediate block B');
      t.equal(
        hex(encodePinBlock({ format: 4, pin: i.pin, pan: i.pan, key: i.pin_key, fill: i.random_fill })),
        e.encrypted_pin_block,
        'enciphered PIN block',
      );
      t.equal(decodePinBlock({ format: 4, block: e.encrypted_pin_block, pan: i.pan, key: i.pin_key }), i.pin);
    }
  });
}

t.test('format 0 under a DUKPT PIN key [source: ANSI X9.24-1:2009 Annex A.4 worked example]', async (t) => {
  const keys = deriveTdesKeys('0123456789ABCDEFFEDCBA9876543210', parseTdesKsn('FFFF9876543210E00001'));
  const epb = encodePinBlock({ format: 0, pin: '1234', pan: '4012345678909', key: keys.pinKey });
  t.equal(hex(epb), '1B9C1845EB993A7A');
  t.equal(decodePinBlock({ format: 0, block: epb, pan: '4012345678909', key: keys.pinKey }), '1234');
});

t.test('every format round-trips every PIN length 4-12, clear and enciphered', async (t) => {
  const tdesKey = bytes('0123456789ABCDEFFEDCBA9876543210');
  const aesKey = bytes('00112233445566778899AABBCCDDEEFF');
  const pan = '4761739001010119';
  for (const format of [0, 1, 3, 4] as PinBlockFormat[]) {
    for (let length = 4; length <= 12; length++) {
      const pin = '918273645091'.slice(0, length);
      const key = format === 4 ? aesKey : tdesKey;
      const block = encodePinBlock({ format, pin, pan, key, random: counterRandom(length) });
      t.equal(block.length, format === 4 ? 16 : 8);
      t.equal(decodePinBlock({ format, block, pan, key }), pin, `format ${format}, ${length} digits`);
      if (format !== 4)
        t.equal(
          decodePinBlock({ format, block: encodePinBlock({ format, pin, pan, random: counterRandom() }), pan }),
          pin,
          `format ${format} clear`,
        );
    }
  }
});

t.test(
  'random fill comes from the injected source: formats 1, 3 and 4 differ per draw, format 0 never does',
  async (t) => {
    const pan = '4761739001010119';
    const aesKey = bytes('00112233445566778899AABBCCDDEEFF');
    t.not(
      hex(encodePinBlock({ format: 1, pin: '1234', random: counterRandom(0) })),
      hex(encodePinBlock({ format: 1, pin: '1234', random: counterRandom(7) })),
    );
    t.equal(
      hex(encodePinBlock({ format: 1, pin: '1234', random: counterRandom(0) })),
      '1412340123456789',
      'format 1 fill is the low nibbles of the random bytes',
    );
    const f3 = encodePinBlock({ format: 3, pin: '1234', pan, random: counterRandom(0) });
    const plain3 = hex(Buffer.from(f3.map((b, k) => b ^ bytes('0000173900101011')[k]!)));
    t.match(plain3, /^341234[A-F]{10}$/, 'format 3 fill is A-F only');
    t.not(
      hex(encodePinBlock({ format: 4, pin: '1234', pan, key: aesKey, random: counterRandom(0) })),
      hex(encodePinBlock({ format: 4, pin: '1234', pan, key: aesKey, random: counterRandom(9) })),
    );
    t.equal(
      hex(encodePinBlock({ format: 0, pin: '1234', pan, random: counterRandom(0) })),
      hex(encodePinBlock({ format: 0, pin: '1234', pan, random: counterRandom(5) })),
    );
    // The default source is crypto.randomBytes: two draws differ.
    t.not(
      hex(encodePinBlock({ format: 4, pin: '1234', pan, key: aesKey })),
      hex(encodePinBlock({ format: 4, pin: '1234', pan, key: aesKey })),
    );
  },
);

t.test('bad input is a PosError naming what is wrong, never quoting the PIN or PAN', async (t) => {
  const pan = '4761739001010119';
  const cases: Array<[string, () => unknown, string, RegExp]> = [
    [
      'PIN too short',
      () => encodePinBlock({ format: 0, pin: '123', pan }),
      'CODPOS_CRYPTO_PIN',
      /4 to 12 digits long \(got 3\)/,
    ],
    ['PIN too long', () => encodePinBlock({ format: 0, pin: '1234567890123', pan }), 'CODPOS_CRYPTO_PIN', /got 13/],
    ['PIN not digits', () => encodePinBlock({ format: 1, pin: '12a4' }), 'CODPOS_CRYPTO_PIN', /decimal digits/],
    [
      'format 2',
      () => encodePinBlock({ format: 2 as PinBlockFormat, pin: '1234', pan }),
      'CODPOS_CRYPTO_PIN_BLOCK_FORMAT',
      /0, 1, 3 or 4/,
    ],
    [
      'PAN missing for format 0',
      () => encodePinBlock({ format: 0, pin: '1234' }),
      'CODPOS_CRYPTO_PAN',
      /format 0 needs the PAN/,
    ],
    [
      'PAN missing for format 3',
      () => decodePinBlock({ format: 3, block: '341261AAAAEDCBA9' }),
      'CODPOS_CRYPTO_PAN',
      /format 3 needs the PAN/,
    ],
    [
      'PAN too short for format 0',
      () => encodePinBlock({ format: 0, pin: '1234', pan: '123456789012' }),
      'CODPOS_CRYPTO_PAN',
      /13 to 19 digits/,
    ],
    [
      'PAN too long',
      () => encodePinBlock({ format: 4, pin: '1234', pan: '12345678901234567890', key: Buffer.alloc(16) }),
      'CODPOS_CRYPTO_PAN',
      /1 to 19 digits/,
    ],
    [
      'PAN not digits',
      () => encodePinBlock({ format: 3, pin: '1234', pan: '47617390010101X9' }),
      'CODPOS_CRYPTO_PAN',
      /digits only/,
    ],
    [
      'format 4 without key',
      () => encodePinBlock({ format: 4, pin: '1234', pan }),
      'CODPOS_CRYPTO_KEY_MISSING',
      /format 4/,
    ],
    [
      'format 0 with a fill',
      () => encodePinBlock({ format: 0, pin: '1234', pan, fill: 'FFFFFFFFFF' }),
      'CODPOS_CRYPTO_PIN_FILL',
      /fixed F fill/,
    ],
    [
      'format 3 fill outside A-F',
      () => encodePinBlock({ format: 3, pin: '1234', pan, fill: '0123456789' }),
      'CODPOS_CRYPTO_PIN_FILL',
      /from A to F/,
    ],
    [
      'format 1 fill of the wrong length',
      () => encodePinBlock({ format: 1, pin: '1234', fill: 'FF' }),
      'CODPOS_CRYPTO_PIN_FILL',
      /10 hex digits/,
    ],
    [
      'TDES key of 8 bytes',
      () => encodePinBlock({ format: 0, pin: '1234', pan, key: Buffer.alloc(8) }),
      'CODPOS_CRYPTO_KEY_LENGTH',
      /PIN key must be 16 or 24 bytes/,
    ],
    [
      'AES key of 20 bytes',
      () => encodePinBlock({ format: 4, pin: '1234', pan, key: Buffer.alloc(20) }),
      'CODPOS_CRYPTO_KEY_LENGTH',
      /16, 24 or 32/,
    ],
    [
      'block of 7 bytes',
      () => decodePinBlock({ format: 1, block: '14123400000000' }),
      'CODPOS_CRYPTO_PIN_BLOCK',
      /8 bytes/,
    ],
    ['block not hex', () => decodePinBlock({ format: 1, block: '141234FFFFFFFFFG' }), 'CODPOS_CRYPTO_PIN_BLOCK', /hex/],
  ];
  for (const [what, run, code, message] of cases) {
    try {
      run();
      t.fail(`${what}: no error`);
    } catch (error) {
      t.ok(error instanceof PosError, `${what}: a PosError`);
      t.equal((error as PosError).code, code, `${what}: ${code}`);
      t.match((error as Error).message, message, `${what}: names the problem`);
      t.notMatch((error as Error).message, /4761739001010119|1234567890123|12a4/, `${what}: quotes no PIN or PAN`);
    }
  }
});

t.test('a block that does not decode (wrong key, PAN or format) is a PosError, not garbage', async (t) => {
  const pan = '4761739001010119';
  const key = bytes('0123456789ABCDEFFEDCBA9876543210');
  const block = encodePinBlock({ format: 0, pin: '1234', pan, key });
  t.throws(() => decodePinBlock({ format: 0, block, pan, key: bytes('FEDCBA98765432100123456789ABCDEF') }), {
    code: 'CODPOS_CRYPTO_PIN_BLOCK',
  });
  t.throws(() => decodePinBlock({ format: 3, block, pan, key }), {
    code: 'CODPOS_CRYPTO_PIN_BLOCK',
    message: /control field/,
  });
  t.throws(
    () => decodePinBlock({ format: 0, block: '041261AAAAEDCBA9', pan: '4761739001010119' }),
    { code: 'CODPOS_CRYPTO_PIN_BLOCK' },
    'wrong PAN',
  );
  t.throws(() => decodePinBlock({ format: 1, block: '1312340000000000' }), {
    code: 'CODPOS_CRYPTO_PIN_BLOCK',
    message: /PIN length/,
  });
  const aesKey = bytes('00112233445566778899AABBCCDDEEFF');
  const f4 = encodePinBlock({ format: 4, pin: '1234', pan, key: aesKey });
  t.throws(
    () => decodePinBlock({ format: 4, block: f4, pan: '4761739001010127', key: aesKey }),
    { code: 'CODPOS_CRYPTO_PIN_BLOCK' },
    'format 4 is bound to the PAN',
  );
});
