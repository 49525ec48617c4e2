import t from 'tap';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesCmac,
  aesEcbDecrypt,
  aesEcbEncrypt,
  adjustOddParity,
  desEcbDecrypt,
  desEcbEncrypt,
  iso9797Pad1,
  iso9797Pad2,
  iso9797Unpad2,
  kcv,
  retailMac,
  tdesCbcDecrypt,
  tdesCbcEncrypt,
  tdesEcbDecrypt,
  tdesEcbEncrypt,
} from '../../../emv/crypto/primitives.js';
import { bytes, hex } from './vectors.js';

t.test(
  'single DES through des-ede3 K|K|K [source: J. O. Grabbe, "The DES Algorithm Illustrated" worked example]',
  async (t) => {
    const key = bytes('133457799BBCDFF1');
    t.equal(hex(desEcbEncrypt(key, bytes('0123456789ABCDEF'))), '85E813540F0AB405');
    t.equal(hex(desEcbDecrypt(key, bytes('85E813540F0AB405'))), '0123456789ABCDEF');
  },
);

t.test('two-key TDES equals K1|K2|K1 three-key TDES, and CBC chains', async (t) => {
  const k2 = bytes('0123456789ABCDEFFEDCBA9876543210');
  const k3 = Buffer.concat([k2, k2.subarray(0, 8)]);
  const data = bytes('00112233445566778899AABBCCDDEEFF');
  t.same(tdesEcbEncrypt(k2, data), tdesEcbEncrypt(k3, data));
  t.same(tdesEcbDecrypt(k2, tdesEcbEncrypt(k2, data)), data);
  const cbc = tdesCbcEncrypt(k2, data);
  // CBC: the second block is E(P2 xor C1)
  const c1 = tdesEcbEncrypt(k2, data.subarray(0, 8));
  t.same(cbc.subarray(0, 8), c1);
  t.same(cbc.subarray(8), tdesEcbEncrypt(k2, Buffer.from(data.subarray(8).map((b, i) => b ^ c1[i]!))));
  t.same(tdesCbcDecrypt(k2, cbc), data);
  // with a two-key key whose halves are equal, TDES degenerates to single DES
  const single = bytes('133457799BBCDFF1');
  t.equal(hex(tdesEcbEncrypt(Buffer.concat([single, single]), bytes('0123456789ABCDEF'))), '85E813540F0AB405');
});

t.test('AES ECB/CBC [source: NIST SP 800-38A F.1.1 / F.2.1 (AES-128)]', async (t) => {
  const key = bytes('2B7E151628AED2A6ABF7158809CF4F3C');
  const p = bytes('6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51');
  t.equal(hex(aesEcbEncrypt(key, p)), '3AD77BB40D7A3660A89ECAF32466EF97F5D3D58503B9699DE785895A96FDBAAF');
  t.same(aesEcbDecrypt(key, aesEcbEncrypt(key, p)), p);
  const iv = bytes('000102030405060708090A0B0C0D0E0F');
  t.equal(hex(aesCbcEncrypt(key, p, iv)), '7649ABAC8119B246CEE98E9B12E9197D5086CB9B507219EE95DB113A917678B2');
  t.same(aesCbcDecrypt(key, aesCbcEncrypt(key, p, iv), iv), p);
});

t.test('AES-CMAC [source: RFC 4493 section 4 test vectors]', async (t) => {
  const key = bytes('2B7E151628AED2A6ABF7158809CF4F3C');
  const m = bytes(
    '6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710',
  );
  t.equal(hex(aesCmac(key, Buffer.alloc(0))), 'BB1D6929E95937287FA37D129B756746', 'Example 1: len = 0');
  t.equal(hex(aesCmac(key, m.subarray(0, 16))), '070A16B46B4D4144F79BDD9DD04A287C', 'Example 2: len = 16');
  t.equal(hex(aesCmac(key, m.subarray(0, 40))), 'DFA66747DE9AE63030CA32611497C827', 'Example 3: len = 40');
  t.equal(hex(aesCmac(key, m)), '51F0BEBF7E3B9D92FC49741779363CFE', 'Example 4: len = 64');
});

t.test('AES-CMAC with 192- and 256-bit keys [source: NIST SP 800-38B Appendix D.2 / D.3 examples]', async (t) => {
  const k192 = bytes('8E73B0F7DA0E6452C810F32B809079E562F8EAD2522C6B7B');
  t.equal(hex(aesCmac(k192, Buffer.alloc(0))), 'D17DDF46ADAACDE531CAC483DE7A9367', 'AES-192, Mlen = 0');
  const k256 = bytes('603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4');
  t.equal(hex(aesCmac(k256, Buffer.alloc(0))), '028962F61B7BF89EFC6B551F4667D983', 'AES-256, Mlen = 0');
  t.equal(
    hex(aesCmac(k256, bytes('6BC1BEE22E409F96E93D7E117393172A'))),
    '28A7023F452E8F82BD4BF28D8C37C35C',
    'AES-256, Mlen = 128',
  );
});

t.test('ISO 9797-1 padding methods 1 and 2', async (t) => {
  t.equal(hex(iso9797Pad1(bytes('0102'))), '0102000000000000');
  t.equal(hex(iso9797Pad1(bytes('0102030405060708'))), '0102030405060708', 'method 1 adds nothing to whole blocks');
  t.equal(hex(iso9797Pad1(Buffer.alloc(0))), '0000000000000000', 'method 1 makes one block of empty data');
  t.equal(hex(iso9797Pad2(bytes('0102030405060708'))), '01020304050607088000000000000000', 'method 2 always adds');
  t.equal(hex(iso9797Pad2(bytes('01'), 16)), '01800000000000000000000000000000');
  t.equal(hex(iso9797Unpad2(iso9797Pad2(bytes('0102')))), '0102');
  t.throws(() => iso9797Unpad2(bytes('0102030405060708')), { code: 'CODPOS_CRYPTO_PADDING' });
});

t.test('retail MAC (ISO 9797-1 alg 3) equals CBC-MAC under K1 with a final TDES block', async (t) => {
  const key = bytes('0123456789ABCDEFFEDCBA9876543210');
  const data = bytes('00112233445566778899AABBCCDDEEFF0011');
  const padded = iso9797Pad1(data);
  const k1 = key.subarray(0, 8);
  let chain: Buffer = Buffer.alloc(8);
  for (let i = 0; i < padded.length - 8; i += 8)
    chain = desEcbEncrypt(k1, Buffer.from(padded.subarray(i, i + 8).map((b, j) => b ^ chain[j]!)));
  const lastIn = Buffer.from(padded.subarray(padded.length - 8).map((b, j) => b ^ chain[j]!));
  t.same(retailMac(key, data, 'iso9797-1'), tdesEcbEncrypt(key, lastIn));
  t.notSame(retailMac(key, data, 'iso9797-2'), retailMac(key, data, 'iso9797-1'));
  t.throws(() => retailMac(key, data, 'none'), { code: 'CODPOS_CRYPTO_DATA_LENGTH' });
  t.throws(() => retailMac(bytes('0123456789ABCDEF'), data), { code: 'CODPOS_CRYPTO_KEY_LENGTH' });
});

t.test('key check values', async (t) => {
  t.equal(hex(kcv('6AC292FAA1315B4D858AB3A3D7D5933A')), 'AF8C07', 'TDES KCV of the X9.24-1 A.4 IPEK');
  t.equal(hex(kcv('0123456789ABCDEFFEDCBA9876543210', { length: 2 })), '08D7', 'two-byte KCV of the pyemv test IMK');
  const aesKey = bytes('2B7E151628AED2A6ABF7158809CF4F3C');
  t.equal(
    hex(kcv(aesKey, { algorithm: 'aes' })),
    hex(aesCmac(aesKey, Buffer.alloc(16)).subarray(0, 3)),
    'AES KCV is CMAC of a zero block by default',
  );
  t.equal(
    hex(kcv(aesKey, { algorithm: 'aes', aesMethod: 'encrypt-zeros' })),
    hex(aesEcbEncrypt(aesKey, Buffer.alloc(16)).subarray(0, 3)),
  );
  t.throws(() => kcv('0123'), { code: 'CODPOS_CRYPTO_KEY_LENGTH' });
  t.throws(() => kcv('XYZ0'), { code: 'CODPOS_CRYPTO_KEY_LENGTH', message: /hex/ });
});

t.test('bad lengths are PosErrors naming the problem, never crashes', async (t) => {
  t.throws(() => tdesEcbEncrypt(bytes('0123456789ABCDEF0123'), Buffer.alloc(8)), {
    code: 'CODPOS_CRYPTO_KEY_LENGTH',
    message: /16 or 24 bytes \(got 10\)/,
  });
  t.throws(() => tdesEcbEncrypt(bytes('0123456789ABCDEFFEDCBA9876543210'), Buffer.alloc(7)), {
    code: 'CODPOS_CRYPTO_DATA_LENGTH',
  });
  t.throws(() => aesEcbEncrypt(Buffer.alloc(15), Buffer.alloc(16)), { code: 'CODPOS_CRYPTO_KEY_LENGTH' });
  t.throws(() => aesCbcEncrypt(Buffer.alloc(16), Buffer.alloc(17)), { code: 'CODPOS_CRYPTO_DATA_LENGTH' });
  t.throws(() => aesCbcEncrypt(Buffer.alloc(16), Buffer.alloc(16), Buffer.alloc(8)), {
    code: 'CODPOS_CRYPTO_IV_LENGTH',
    message: /16 bytes \(got 8\)/,
  });
  t.throws(() => tdesCbcDecrypt(Buffer.alloc(16), Buffer.alloc(8), Buffer.alloc(16)), {
    code: 'CODPOS_CRYPTO_IV_LENGTH',
    message: /8 bytes \(got 16\)/,
  });
});

t.test('odd parity adjustment', async (t) => {
  t.equal(hex(adjustOddParity(bytes('0000FEFF'))), '0101FEFE');
});
