import t, { type Test } from 'tap';
import {
  authenticateCda,
  authenticateDda,
  authenticateSda,
  recoverIccPublicKey,
  recoverIssuerPublicKey,
  verifyCdaSignature,
  verifyDdaSignature,
  verifySsad,
  type CaPublicKey,
  type OdaResult,
} from '../../../emv/crypto/oda.js';
import { rsaPublicKey, rsaRecover } from '../../../emv/crypto/rsa.js';
import {
  buildIccCertificate,
  buildIssuerCertificate,
  cdaDynamicData,
  ddaDynamicData,
  generateRsaKeyPair,
  rsaSignRaw,
  signDynamicData,
  signStaticData,
} from '../../../emv/crypto/oda-sign.js';
import { bytes, capks, hex, named, vectors } from './vectors.js';

const [sdaVector, ddaVector, cdaVector, capkVector] = vectors('offline_data_authentication') as [any, any, any, any];

function capkOf(i: Record<string, string>): CaPublicKey {
  return {
    rid: i.capk_rid!,
    index: i.capk_index!,
    modulus: i.capk_modulus!,
    exponent: i.capk_exponent!,
    ...(i.capk_sha1 ? { sha1: i.capk_sha1 } : {}),
  };
}

/** Inputs of each vector, as Buffers the functions take; mutate copies to tamper. */
function sdaInput() {
  const i = sdaVector.inputs;
  return {
    capk: capkOf(i),
    issuerCertificate: bytes(i.issuer_cert_90),
    issuerRemainder: bytes(i.issuer_remainder_92),
    issuerExponent: bytes(i.issuer_exponent_9F32),
    ssad: bytes(i.ssad_93),
    staticData: bytes(i.static_data_to_authenticate),
    pan: i.pan_5A_ignored_by_test as string,
    // the CA test key 01 expired 12/2009, the issuer certificate 12/2012
    transactionDate: '090601',
  };
}

function ddaInput() {
  const i = ddaVector.inputs;
  return {
    capk: capkOf(i),
    issuerCertificate: bytes(i.issuer_cert_90),
    issuerRemainder: bytes(i.issuer_remainder_92),
    issuerExponent: bytes(i.issuer_exponent_9F32),
    iccCertificate: bytes(i.icc_cert_9F46),
    iccExponent: bytes(i.icc_exponent_9F47),
    staticData: bytes(i.static_data_to_authenticate),
    sdad: bytes(i.sdad_9F4B),
    ddolData: bytes(i.ddol_data),
    pan: i.pan_5A as string,
    // ICC certificate expires 06/2015; the application became effective 05/2014
    transactionDate: '150101',
  };
}

function cdaInput() {
  const i = cdaVector.inputs;
  return {
    capk: capkOf(i),
    issuerCertificate: bytes(i.issuer_cert_90),
    issuerRemainder: bytes(i.issuer_remainder_92),
    issuerExponent: bytes(i.issuer_exponent_9F32),
    iccCertificate: bytes(i.icc_cert_9F46),
    iccExponent: bytes(i.icc_exponent_9F47),
    staticData: bytes(i.static_data_to_authenticate),
    sdad: bytes(i.sdad_9F4B),
    unpredictableNumber: bytes(i.un_9F37),
    cid: 0x40,
    // PDOL data: none; then CDOL1 data; then the GENERATE AC response TLVs except 9F4B
    transactionData: Buffer.concat([bytes(i.cdol1_related_data), bytes(i.genac_response_tlvs_excluding_9F4B)]),
    pan: ddaVector.inputs.pan_5A as string,
    transactionDate: '150101',
  };
}

function failedOf(result: OdaResult<object>): string | undefined {
  return result.ok ? undefined : result.failed;
}

t.test(named(sdaVector), async (t) => {
  const input = sdaInput();
  const e = sdaVector.expected;
  t.equal(
    hex(rsaRecover(rsaPublicKey(input.capk.modulus, input.capk.exponent), input.issuerCertificate).subarray(0, 15)),
    e.recovered_issuer_cert_header,
  );
  const result = authenticateSda(input);
  if (!result.ok) return t.fail(`SDA failed at ${result.failed}: ${result.reason}`);
  t.equal(
    hex(result.issuer.key.modulus),
    e.issuer_pk_modulus,
    'issuer public key modulus (leftmost digits + remainder)',
  );
  t.equal(hex(result.dac), e.dac_9F45, 'data authentication code (9F45)');
  t.equal(hex(rsaRecover(result.issuer.key, input.ssad).subarray(0, 5)), e.recovered_ssad_header);
});

t.test(named(ddaVector), async (t) => {
  const input = ddaInput();
  const e = ddaVector.expected;
  const result = authenticateDda(input);
  if (!result.ok) return t.fail(`DDA failed at ${result.failed}: ${result.reason}`);
  t.equal(hex(result.issuer.key.modulus), e.issuer_pk_modulus, 'issuer public key modulus');
  t.equal(hex(result.icc.key.modulus), e.icc_pk_modulus, 'ICC public key modulus');
  t.equal(hex(rsaRecover(result.issuer.key, input.iccCertificate).subarray(0, 21)), e.recovered_icc_cert_header);
  t.equal(hex(rsaRecover(result.icc.key, input.sdad).subarray(0, 4)), e.recovered_sdad_header);
  t.equal(hex(result.dynamicData), e.icc_dynamic_data, 'ICC dynamic data');
  t.equal(hex(result.idn), e.idn_9F4C, 'ICC dynamic number (9F4C)');
  t.equal(result.icc.pan, input.pan);
});

t.test(named(cdaVector), async (t) => {
  const input = cdaInput();
  const e = cdaVector.expected;
  const result = authenticateCda(input);
  if (!result.ok) return t.fail(`CDA failed at ${result.failed}: ${result.reason}`);
  t.equal(hex(result.issuer.key.modulus), e.issuer_pk_modulus);
  t.equal(hex(result.icc.key.modulus), e.icc_pk_modulus);
  t.equal(hex(rsaRecover(result.icc.key, input.sdad).subarray(0, 4)), e.recovered_sdad_header);
  t.equal(hex(result.dynamicData), e.icc_dynamic_data);
  t.equal(hex(result.idn), e.idn_9F4C);
  t.equal(result.cid.toString(16).padStart(2, '0'), e.cid);
  t.equal(hex(result.cryptogram), e.application_cryptogram_9F26, 'the AC the card signed (9F26)');
  t.equal(hex(result.transactionDataHash), e.transaction_data_hash);
});

t.test(named(capkVector), async (t) => {
  const entries = capks();
  t.equal(entries.length, capkVector.inputs.count);
  const sameKeys = capkVector.inputs.keys.map((k: any) => k.modulus).join() === entries.map((k) => k.modulus).join();
  t.ok(sameKeys, 'capk-test.json holds the same keys as the vector');
});

/** Flips one byte of a Buffer-valued field, returning a tampered copy of the input. */
function flipped<T extends Record<string, unknown>>(input: T, field: keyof T, offset: number): T {
  const copy = Buffer.from(input[field] as Buffer);
  copy[offset] = copy[offset]! ^ 0x01;
  return { ...input, [field]: copy };
}

function everyByteFails<T extends Record<string, unknown>>(
  t: Test,
  input: T,
  run: (i: T) => OdaResult<object>,
  fields: Array<keyof T>,
): void {
  for (const field of fields) {
    const length = (input[field] as Buffer).length;
    const outcomes = new Map<string, number>();
    let passed = 0;
    for (let offset = 0; offset < length; offset++) {
      let result: OdaResult<object>;
      try {
        result = run(flipped(input, field, offset));
      } catch (error) {
        t.fail(`${String(field)} byte ${offset}: threw ${(error as Error).message}`);
        continue;
      }
      if (result.ok) passed++;
      else outcomes.set(result.failed, (outcomes.get(result.failed) ?? 0) + 1);
    }
    t.equal(
      passed,
      0,
      `${String(field)}: each of its ${length} bytes flipped fails cleanly (${[...outcomes].map(([k, v]) => `${k} x${v}`).join(', ')})`,
    );
  }
}

t.test(
  'SDA: a flipped byte anywhere in the certificate, SSAD, remainder, exponent or static data fails cleanly',
  async (t) => {
    everyByteFails(t, sdaInput(), authenticateSda, [
      'issuerCertificate',
      'issuerRemainder',
      'issuerExponent',
      'ssad',
      'staticData',
    ]);
  },
);

t.test('DDA: a flipped byte anywhere in either certificate, the SDAD or what they sign fails cleanly', async (t) => {
  everyByteFails(t, ddaInput(), authenticateDda, [
    'issuerCertificate',
    'issuerRemainder',
    'iccCertificate',
    'iccExponent',
    'sdad',
    'ddolData',
    'staticData',
  ]);
});

t.test('CDA: a flipped byte anywhere in the SDAD, UN or transaction data fails cleanly', async (t) => {
  everyByteFails(t, cdaInput(), authenticateCda, [
    'issuerCertificate',
    'iccCertificate',
    'sdad',
    'unpredictableNumber',
    'transactionData',
  ]);
});

t.test('vector chains: each check names itself', async (t) => {
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), transactionDate: '130101' })),
    'issuer_cert_expired',
    'issuer certificate expired 12/2012',
  );
  t.equal(failedOf(authenticateSda({ ...sdaInput(), pan: '5276550000000000' })), 'issuer_id_mismatch');
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), capk: { ...sdaInput().capk, sha1: '00'.repeat(20) } })),
    'capk_checksum',
  );
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), issuerRemainder: Buffer.alloc(0) })),
    'issuer_cert_hash',
    'the remainder is under the hash',
  );
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), issuerCertificate: sdaInput().issuerCertificate.subarray(1) })),
    'issuer_cert_length',
  );
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), issuerCertificate: Buffer.alloc(128, 0xff) })),
    'issuer_cert_range',
  );
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), capk: { ...sdaInput().capk, modulus: 'C6', sha1: undefined } })),
    'capk_invalid',
  );
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), capk: { ...sdaInput().capk, rid: 'A0000003' } })),
    'capk_invalid',
    'a 4-byte RID',
  );
  t.equal(
    failedOf(authenticateSda({ ...sdaInput(), ssad: undefined as unknown as Buffer })),
    'ssad_length',
    'a missing SSAD',
  );
  const revoked = authenticateSda({
    ...sdaInput(),
    isRevoked: (rid, index, serial) => rid === 'A000000003' && index === '01' && serial === '0042B3',
  });
  t.equal(failedOf(revoked), 'issuer_cert_revoked');
  // another CA key of the same size does not recover this certificate
  const other = capks().find((k) => k.rid === 'A000000004' && k.index === '03')!;
  t.match(
    failedOf(
      authenticateSda({
        ...sdaInput(),
        capk: { rid: other.rid, index: other.index, modulus: other.modulus, exponent: other.exponent },
      }),
    ),
    /^issuer_cert_(trailer|header|range)$/,
  );
  t.equal(
    failedOf(authenticateDda({ ...ddaInput(), transactionDate: '150701' })),
    'icc_cert_expired',
    'ICC certificate expired 06/2015',
  );
  t.equal(failedOf(authenticateDda({ ...ddaInput(), pan: '5285881254345661' })), 'icc_pan_mismatch');
  t.equal(failedOf(authenticateDda({ ...ddaInput(), ddolData: bytes('00000001') })), 'sdad_hash');
  t.equal(failedOf(authenticateCda({ ...cdaInput(), cid: 0x80 })), 'cda_cid_mismatch');
  t.equal(
    failedOf(
      authenticateCda({
        ...cdaInput(),
        transactionData: Buffer.concat([cdaInput().transactionData, Buffer.from([0])]),
      }),
    ),
    'cda_transaction_data_hash',
  );
  t.ok(
    authenticateCda({ ...cdaInput(), transactionDate: new Date(Date.UTC(2015, 5, 30)) }).ok,
    'a Date in the expiry month is still valid',
  );
});

t.test('synthetic chains (lab keys): every structural check is reached and named', async (t) => {
  const ca = generateRsaKeyPair(1024);
  const issuer = generateRsaKeyPair(1024 - 64);
  const icc = generateRsaKeyPair(768);
  const pan = '4761739001010119';
  const staticData = bytes('5A0847617390010101195F24032512319F0702FF00');
  const capk: CaPublicKey = {
    rid: 'B012345678',
    index: 0x99,
    modulus: ca.publicKey.modulus,
    exponent: ca.publicKey.exponent,
  };
  const issuerCert = buildIssuerCertificate({
    ca,
    issuerKey: issuer.publicKey,
    issuerId: '476173',
    expiry: '1230',
    serial: bytes('000001'),
  });
  const iccCert = buildIccCertificate({
    issuer,
    iccKey: icc.publicKey,
    pan,
    expiry: '1230',
    serial: bytes('000002'),
    staticData,
  });
  const base = {
    capk,
    issuerCertificate: issuerCert.certificate,
    issuerRemainder: issuerCert.remainder,
    issuerExponent: issuerCert.exponent,
    iccCertificate: iccCert.certificate,
    iccRemainder: iccCert.remainder,
    iccExponent: iccCert.exponent,
    staticData,
    pan,
    transactionDate: '260115',
  };
  t.ok(issuerCert.remainder.length > 0 && iccCert.remainder.length > 0, 'both moduli need a remainder');

  const ssad = signStaticData({ issuer, dac: bytes('DAC1'), staticData });
  const sda = authenticateSda({ ...base, ssad });
  t.ok(sda.ok && hex(sda.dac) === 'DAC1', 'SDA verifies a lab-signed SSAD');
  const ddol = bytes('CAFEBABE');
  const dda = authenticateDda({
    ...base,
    sdad: signDynamicData({ icc, dynamicData: ddaDynamicData(bytes('0102030405060708')), terminalData: ddol }),
    ddolData: ddol,
  });
  t.ok(dda.ok && hex(dda.idn) === '0102030405060708', 'DDA verifies a lab-signed SDAD');
  const transactionData = bytes('000000001000' + '9F2701409F360200019F100706010A03A00000');
  const cdaDyn = cdaDynamicData({
    idn: bytes('1122'),
    cid: 0x80,
    cryptogram: bytes('0011223344556677'),
    transactionData,
  });
  const cda = authenticateCda({
    ...base,
    sdad: signDynamicData({ icc, dynamicData: cdaDyn, terminalData: ddol }),
    unpredictableNumber: ddol,
    cid: 0x80,
    transactionData,
  });
  t.ok(cda.ok && hex(cda.cryptogram) === '0011223344556677', 'CDA verifies a lab-signed SDAD');

  // Hand-framed certificates, each broken in one place, signed by the right key.
  const issuerRecovered = rsaRecover(ca.publicKey, issuerCert.certificate);
  const resign = (mutate: (r: Buffer) => void) => {
    const r = Buffer.from(issuerRecovered);
    mutate(r);
    return { ...base, ssad, issuerCertificate: rsaSignRaw(ca, r) };
  };
  t.equal(failedOf(authenticateSda(resign((r) => (r[r.length - 1] = 0xbb)))), 'issuer_cert_trailer');
  t.equal(failedOf(authenticateSda(resign((r) => (r[0] = 0x6b)))), 'issuer_cert_header');
  t.equal(failedOf(authenticateSda(resign((r) => (r[1] = 0x04)))), 'issuer_cert_format');
  t.equal(failedOf(authenticateSda(resign((r) => (r[11] = 0x02)))), 'issuer_cert_hash_algorithm');
  t.equal(failedOf(authenticateSda(resign((r) => (r[20] = r[20]! ^ 1)))), 'issuer_cert_hash');

  // Certificates that are genuine but say the wrong thing.
  const cert = (o: Partial<Parameters<typeof buildIssuerCertificate>[0]>) =>
    buildIssuerCertificate({
      ca,
      issuerKey: issuer.publicKey,
      issuerId: '476173',
      expiry: '1230',
      serial: bytes('000001'),
      ...o,
    });
  const withIssuer = (c: ReturnType<typeof cert>) => ({
    ...base,
    ssad,
    issuerCertificate: c.certificate,
    issuerRemainder: c.remainder,
  });
  t.equal(failedOf(authenticateSda(withIssuer(cert({ expiry: '1225' })))), 'issuer_cert_expired');
  t.equal(
    failedOf(authenticateSda(withIssuer(cert({ expiry: '1330' })))),
    'issuer_cert_expired',
    'month 13 is no expiry',
  );
  t.equal(failedOf(authenticateSda(withIssuer(cert({ issuerId: '5413' })))), 'issuer_id_mismatch');
  t.equal(failedOf(authenticateSda(withIssuer(cert({ issuerId: '47' })))), 'issuer_id_mismatch', 'fewer than 3 digits');
  t.equal(
    failedOf(
      authenticateSda({
        ...withIssuer(cert({})),
        issuerRemainder: Buffer.concat([issuerCert.remainder, Buffer.from([0])]),
      }),
    ),
    'issuer_cert_hash',
  );

  const issuerKey = recoverIssuerPublicKey({
    capk,
    certificate: issuerCert.certificate,
    remainder: issuerCert.remainder,
    exponent: issuerCert.exponent,
    pan,
    transactionDate: '260115',
  });
  if (!issuerKey.ok) return t.fail('issuer key');
  const iccRecovered = rsaRecover(issuer.publicKey, iccCert.certificate);
  const iccResign = (mutate: (r: Buffer) => void) => {
    const r = Buffer.from(iccRecovered);
    mutate(r);
    return recoverIccPublicKey({
      issuer: issuerKey.issuer,
      certificate: rsaSignRaw(issuer, r),
      remainder: iccCert.remainder,
      exponent: iccCert.exponent,
      staticData,
      pan,
      transactionDate: '260115',
    });
  };
  t.equal(failedOf(iccResign((r) => (r[1] = 0x02))), 'icc_cert_format');
  t.equal(failedOf(iccResign((r) => (r[17] = 0x00))), 'icc_cert_hash_algorithm');
  t.equal(failedOf(iccResign((r) => (r[0] = 0x00))), 'icc_cert_header');
  t.equal(failedOf(iccResign((r) => (r[r.length - 1] = 0x00))), 'icc_cert_trailer');

  const iccKey = recoverIccPublicKey({
    issuer: issuerKey.issuer,
    certificate: iccCert.certificate,
    remainder: iccCert.remainder,
    exponent: iccCert.exponent,
    staticData,
    pan,
    transactionDate: '260115',
  });
  if (!iccKey.ok) return t.fail('icc key');
  const sdad = signDynamicData({ icc, dynamicData: ddaDynamicData(bytes('0102')), terminalData: ddol });
  const sdadRecovered = rsaRecover(icc.publicKey, sdad);
  const sdadResign = (mutate: (r: Buffer) => void) => {
    const r = Buffer.from(sdadRecovered);
    mutate(r);
    return verifyDdaSignature(iccKey.icc, rsaSignRaw(icc, r), ddol);
  };
  t.equal(failedOf(sdadResign((r) => (r[1] = 0x03))), 'sdad_format');
  t.equal(failedOf(sdadResign((r) => (r[3] = 0xff))), 'sdad_dynamic_data', 'dynamic data length beyond the signature');
  t.equal(
    failedOf(
      verifyDdaSignature(iccKey.icc, signDynamicData({ icc, dynamicData: bytes('0901'), terminalData: ddol }), ddol),
    ),
    'sdad_dynamic_data',
    'IDN length 9',
  );
  t.equal(
    failedOf(verifyCdaSignature({ icc: iccKey.icc, sdad, unpredictableNumber: ddol, cid: 0x80, transactionData })),
    'sdad_dynamic_data',
    'a DDA signature is too short for CDA',
  );
  t.equal(
    failedOf(
      verifySsad(
        issuerKey.issuer,
        signDynamicData({ icc: issuer, dynamicData: bytes('0102'), terminalData: ddol }),
        staticData,
      ),
    ),
    'ssad_format',
    'an SDAD is not an SSAD',
  );
});
