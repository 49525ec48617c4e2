import t from 'tap';
import {
  CVN_PROFILES,
  cvnAcData,
  cvnIccMasterKey,
  cvnScriptSessionKey,
  cvnSessionKey,
  deriveCommonSessionKey,
  deriveIccMasterKey,
  deriveIccMasterKeyA,
  deriveIccMasterKeyB,
  generateAc,
  generateArpcMethod1,
  generateArpcMethod2,
  generateCvnAc,
  generateCvnArpc,
  generateCvnScriptMac,
  generateScriptMac,
  verifyAc,
  verifyCvnAc,
  type AcTransactionData,
  type CvnProfile,
} from '../../../emv/crypto/cryptogram.js';
import { kcv } from '../../../emv/crypto/primitives.js';
import { bytes, hex, named, vectors } from './vectors.js';

const kcv2 = (key: Buffer): string => hex(kcv(key, { length: 2 }));

for (const v of vectors('emv_arqc_arpc')) {
  t.test(named(v), async (t) => {
    const i = v.inputs;
    const e = v.expected;
    const option = i.mk_derivation === 'Option B' ? 'B' : 'A';
    const iccMk =
      i.mk_derivation === undefined
        ? deriveIccMasterKeyB(i.issuer_mk, i.pan, i.psn)
        : deriveIccMasterKey(i.issuer_mk, i.pan, i.psn, option);
    if (e.icc_mk !== undefined) {
      t.equal(hex(iccMk), e.icc_mk, 'ICC master key, odd parity');
      return;
    }
    if (e.imk_kcv !== undefined) t.equal(kcv2(bytes(i.issuer_mk)), e.imk_kcv, 'issuer master key KCV');
    if (e.icc_mk_kcv !== undefined) t.equal(kcv2(iccMk), e.icc_mk_kcv, `ICC master key KCV (option ${option})`);
    const sk = deriveCommonSessionKey(iccMk, bytes(i.r));
    if (e.sk_ac_kcv !== undefined) t.equal(kcv2(sk), e.sk_ac_kcv, 'common session key KCV');
    const padding = /m1/.test(i.ac_padding) ? 'visa' : 'emv';
    const data = bytes(i.ac_data);
    const arqc = generateAc(sk, data, padding);
    t.equal(hex(arqc), e.arqc, `ARQC (${padding} padding)`);
    t.ok(verifyAc(sk, data, arqc, padding), 'host verifies the ARQC');
    const tampered = Buffer.from(arqc);
    tampered[7] = tampered[7]! ^ 1;
    t.notOk(verifyAc(sk, data, tampered, padding), 'and refuses a changed one');
    const method1 = /^1 \(ARC=([0-9A-F]{4})\) keyed with (ICC MK|SK)/.exec(i.arpc_method);
    const method2 = /^2 \(CSU=([0-9A-F]{8}), prop=([0-9A-F]*)\)/.exec(i.arpc_method);
    if (method1) {
      const key = method1[2] === 'SK' ? sk : iccMk;
      t.equal(hex(generateArpcMethod1(key, arqc, method1[1]!)), e.arpc, `ARPC method 1, keyed with ${method1[2]}`);
    } else if (method2) {
      t.equal(hex(generateArpcMethod2(sk, arqc, method2[1]!, method2[2]!)), e.arpc, 'ARPC method 2');
    } else {
      t.fail(`unrecognised ARPC method: ${i.arpc_method}`);
    }
  });
}

function txOf(i: Record<string, string>): AcTransactionData {
  return {
    amountAuthorized: bytes(i.t9F02!),
    amountOther: bytes(i.t9F03!),
    terminalCountryCode: bytes(i.t9F1A!),
    tvr: bytes(i.t95!),
    transactionCurrencyCode: bytes(i.t5F2A!),
    transactionDate: bytes(i.t9A!),
    transactionType: bytes(i.t9C!),
    unpredictableNumber: bytes(i.t9F37!),
    aip: bytes(i.t82!),
    atc: bytes(i.t9F36!),
    ...(i.t9F10 ? { iad: bytes(i.t9F10) } : {}),
    ...(i.cvr ? { cvr: bytes(i.cvr) } : {}),
    ...(i.counters ? { counters: bytes(i.counters) } : {}),
  };
}

const schemeVectors = vectors('emv_scheme_cvn');
const profileOf = (name: string): CvnProfile => {
  const m = /^(Visa|Mastercard) CVN (\d+)/.exec(name)!;
  return `${m[1]!.toLowerCase()}-cvn${m[2]}` as CvnProfile;
};
// The Visa CVN 10 vector lists the issuer secure-messaging master key; the same pyemv
// test module uses it for every profile's script MAC.
const issuerMkSmi = schemeVectors[0]!.inputs.iss_mk_smi as string;

for (const v of schemeVectors) {
  const profile = profileOf(v.name);
  t.test(`${profile}: ${named(v)}`, async (t) => {
    const i = v.inputs;
    const e = v.expected;
    const tx = txOf(i);
    const iccMk = cvnIccMasterKey(profile, i.iss_mk_ac, i.pan, i.psn);
    if (e.icc_mk_ac_kcv !== undefined) t.equal(kcv2(iccMk), e.icc_mk_ac_kcv, 'ICC MK-AC KCV');
    if (e.icc_mk_smi_kcv !== undefined)
      t.equal(kcv2(cvnIccMasterKey(profile, i.iss_mk_smi, i.pan, i.psn)), e.icc_mk_smi_kcv, 'ICC MK-SMI KCV');
    if (e.icc_mk_smc_kcv !== undefined)
      t.equal(kcv2(cvnIccMasterKey(profile, i.iss_mk_smc, i.pan, i.psn)), e.icc_mk_smc_kcv, 'ICC MK-SMC KCV');
    if (e.sk_ac_kcv !== undefined)
      t.equal(kcv2(cvnSessionKey(profile, iccMk, tx.atc, tx.unpredictableNumber)), e.sk_ac_kcv, 'AC session key KCV');
    const arqc = generateCvnAc(profile, iccMk, tx);
    t.equal(hex(arqc), e.arqc, 'ARQC');
    t.ok(verifyCvnAc(profile, iccMk, tx, arqc), 'host verifies it');
    t.notOk(
      verifyCvnAc(profile, iccMk, { ...tx, amountAuthorized: bytes('000000004001') }, arqc),
      'a different amount does not verify',
    );
    const arpc = generateCvnArpc(profile, iccMk, {
      arqc,
      atc: tx.atc,
      unpredictableNumber: tx.unpredictableNumber,
      ...(i.arc ? { arc: i.arc } : {}),
      ...(i.csu ? { csu: i.csu } : {}),
    });
    t.equal(hex(arpc), e.arpc, 'ARPC');
    if (e.command_mac !== undefined) {
      const iccMkSmi = cvnIccMasterKey(profile, i.iss_mk_smi ?? issuerMkSmi, i.pan, i.psn);
      if (e.sk_smi_kcv !== undefined)
        t.equal(kcv2(cvnScriptSessionKey(profile, iccMkSmi, tx.atc, arqc)), e.sk_smi_kcv, 'script MAC session key KCV');
      t.equal(
        hex(generateCvnScriptMac(profile, iccMkSmi, { header: bytes(i.mac_cmd_header), atc: tx.atc, arqc })),
        e.command_mac,
        'issuer script command MAC',
      );
    }
  });
}

t.test('profiles take the CVR (and counters) from the IAD when not given separately', async (t) => {
  const visa = schemeVectors.find((v) => /CVN 10/.test(v.name))!;
  const { cvr: _cvr, ...noCvr } = txOf(visa.inputs);
  const iad = bytes('06010A' + visa.inputs.cvr + '00');
  t.same(cvnAcData('visa-cvn10', { ...noCvr, iad }), cvnAcData('visa-cvn10', txOf(visa.inputs)));
  const mc = schemeVectors.find((v) => /CVN 17/.test(v.name))!;
  const { cvr: _c, counters: _n, ...bare } = txOf(mc.inputs);
  const mcIad = bytes('0111' + mc.inputs.cvr + '0000' + mc.inputs.counters);
  t.equal(
    hex(
      generateCvnAc('mastercard-cvn17', cvnIccMasterKey('mastercard-cvn17', mc.inputs.iss_mk_ac, mc.inputs.pan), {
        ...bare,
        iad: mcIad,
      }),
    ),
    mc.expected.arqc,
  );
});

t.test('option B equals option A for PANs of 16 digits or fewer', async (t) => {
  const imk = '0123456789ABCDEFFEDCBA9876543210';
  t.same(deriveIccMasterKeyB(imk, '1234567890123456', '01'), deriveIccMasterKeyA(imk, '1234567890123456', '01'));
  t.notSame(deriveIccMasterKeyB(imk, '12345678901234567', '01'), deriveIccMasterKeyA(imk, '12345678901234567', '01'));
});

t.test('bad input is a PosError naming the field', async (t) => {
  const imk = '0123456789ABCDEFFEDCBA9876543210';
  t.throws(() => deriveIccMasterKeyA(imk, '12345A', '00'), { code: 'CODPOS_CRYPTO_PAN' });
  t.throws(() => deriveIccMasterKeyA(imk, '1234567890123456', '1'), {
    code: 'CODPOS_CRYPTO_BAD_INPUT',
    message: /5F34/,
  });
  t.throws(() => deriveIccMasterKeyA('0123', '1234567890123456'), {
    code: 'CODPOS_CRYPTO_KEY_LENGTH',
    message: /issuer master key/,
  });
  t.throws(() => deriveCommonSessionKey(bytes(imk), bytes('0102')), {
    code: 'CODPOS_CRYPTO_BAD_INPUT',
    message: /diversifier R/,
  });
  t.throws(() => generateArpcMethod1(bytes(imk), Buffer.alloc(8), '000'), {
    code: 'CODPOS_CRYPTO_BAD_INPUT',
    message: /hex/,
  });
  t.throws(() => generateArpcMethod2(bytes(imk), Buffer.alloc(8), '00000000', '00'.repeat(9)), {
    code: 'CODPOS_CRYPTO_BAD_INPUT',
    message: /proprietary/,
  });
  t.throws(() => generateScriptMac(bytes(imk), Buffer.alloc(3), 9), { code: 'CODPOS_CRYPTO_BAD_INPUT' });
  const visa = txOf(schemeVectors[0]!.inputs);
  t.throws(() => cvnAcData('visa-cvn10', { ...visa, tvr: bytes('8000') }), {
    code: 'CODPOS_CRYPTO_AC_DATA',
    message: /tvr \(95\) must be 5 bytes \(got 2\)/,
  });
  t.throws(() => cvnAcData('visa-cvn18', { ...visa }), { code: 'CODPOS_CRYPTO_AC_DATA', message: /IAD/ });
  t.throws(() => cvnAcData('nope' as CvnProfile, visa), { code: 'CODPOS_CRYPTO_CVN', message: /visa-cvn10/ });
  t.throws(() => generateCvnArpc('visa-cvn18', bytes(imk), { arqc: Buffer.alloc(8), atc: bytes('0001') }), {
    code: 'CODPOS_CRYPTO_AC_DATA',
    message: /card status update/,
  });
  t.throws(() => generateCvnArpc('mastercard-cvn16', bytes(imk), { arqc: Buffer.alloc(8), atc: bytes('0001') }), {
    code: 'CODPOS_CRYPTO_AC_DATA',
    message: /response code/,
  });
  t.equal(CVN_PROFILES.length, 4);
});
