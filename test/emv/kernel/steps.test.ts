/**
 * Kernel steps on variants of the shipped cards: CVM list (online PIN bypass, offline
 * plaintext PIN when configured or not), processing restrictions, velocity checking,
 * TDOL / TC hash, CA key expiry. Variants rewrite record 2.1 of a profile; where that
 * breaks the card's static data signature the terminal runs without ODA (9F33 byte 3 = 00)
 * so the step under test is the only thing that changes.
 */
import t from 'tap';
import { decodeTlv, encodeTlv, findTag } from '../../../emv/tlv/index.js';
import type { CardProfile } from '../../../emv/card/index.js';
import { card, run, issuerFor, terminal, VISA_APP } from './fixtures.js';

const NO_ODA = 'E0E800'; // IC; offline plaintext PIN, online PIN, signature, no CVM; no ODA

/** Replaces (or adds) tags in record 2.1 of the first application. */
function withRecordTags(values: Record<string, string>) {
  return (p: CardProfile) => {
    const app = p.applications[0]!;
    const [template] = decodeTlv(Buffer.from(app.records['2.1']!, 'hex'));
    const children = template!.children!.filter((c) => !(c.tag.toString(16).toUpperCase() in values));
    for (const [tag, hex] of Object.entries(values))
      children.push({ tag: parseInt(tag, 16), value: Buffer.from(hex, 'hex') });
    app.records['2.1'] = encodeTlv([{ tag: 0x70, value: Buffer.alloc(0), children }]).toString('hex');
  };
}

/** Removes a tag from a record ('SFI.record') of the first application. */
function withoutRecordTag(record: string, tag: number) {
  return (p: CardProfile) => {
    const app = p.applications[0]!;
    const [template] = decodeTlv(Buffer.from(app.records[record]!, 'hex'));
    const children = template!.children!.filter((c) => c.tag !== tag);
    app.records[record] = encodeTlv([{ tag: 0x70, value: Buffer.alloc(0), children }]).toString('hex');
  };
}

function approving(c: ReturnType<typeof card>) {
  const issuer = issuerFor(c);
  return (r: Parameters<typeof issuer.issuerAuthenticationData>[0]) => ({
    result: 'approved' as const,
    responseCode: '00',
    issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
  });
}

t.test('online PIN bypassed: TVR B3b4, the next rule (signature) applies', async (t) => {
  const c = card('visa-dda');
  const { result, requests } = await run(c, { host: approving(c), callbacks: { requestOnlinePin: () => null } });
  t.equal(result.outcome, 'approved');
  t.same(result.tvrBits, ['pinNotEntered', 'exceedsFloorLimit']);
  t.equal(result.cvmResults!.toString('hex').toUpperCase(), '1E0300');
  t.equal(result.signatureRequired, true);
  t.equal(requests[0]!.pinBlock, undefined);
});

t.test('no PIN pad: online PIN not possible (TVR B3b5), signature instead', async (t) => {
  const c = card('visa-dda');
  const { result } = await run(c, { host: approving(c), terminal: { pinPadPresent: false } });
  t.same(result.tvrBits, ['pinPadNotPresentOrNotWorking', 'exceedsFloorLimit']);
  t.equal(result.cvmResults!.toString('hex').toUpperCase(), '1E0300');
});

t.test('offline plaintext PIN: not supported unless configured', async (t) => {
  // CVM list: offline plaintext PIN always (no "apply next"), then no CVM.
  const variant = withRecordTags({ '8E': '000000000000000001001F03' });
  const c = card('visa-dda', (p) => {
    variant(p);
    p.applications[0]!.offlinePin = '1234';
  });
  const { result } = await run(c, { terminal: { capabilities: NO_ODA }, host: approving(c) });
  t.same(result.tvrBits, [
    'offlineDataAuthenticationNotPerformed',
    'cardholderVerificationNotSuccessful',
    'pinPadNotPresentOrNotWorking',
    'exceedsFloorLimit',
  ]);
  t.equal(result.cvmResults!.toString('hex').toUpperCase(), '010001', 'offline PIN failed (not supported)');
  const conditional = card('visa-dda', withRecordTags({ '8E': '000000000000000001031F03' }));
  const skipped = await run(conditional, { terminal: { capabilities: NO_ODA }, host: approving(conditional) });
  t.equal(
    skipped.result.cvmResults!.toString('hex').toUpperCase(),
    '1F0302',
    'condition 03 "if terminal supports": rule skipped, no CVM applies',
  );
  t.notOk(c.log.includes('VERIFY'));
});

t.test('offline plaintext PIN with a configured PIN pad: wrong PIN, then right, VERIFY to the card', async (t) => {
  const variant = withRecordTags({ '8E': '000000000000000001031F03' });
  const c = card('visa-dda', (p) => {
    variant(p);
    p.applications[0]!.offlinePin = '1234';
    p.applications[0]!.pinTryLimit = 3;
  });
  const asked: Array<number | undefined> = [];
  const blocks = [Buffer.from('241111FFFFFFFFFF', 'hex'), Buffer.from('241234FFFFFFFFFF', 'hex')];
  const { result } = await run(c, {
    terminal: { capabilities: NO_ODA, offlinePinSupported: true },
    host: approving(c),
    callbacks: {
      requestOfflinePinBlock: (tries) => {
        asked.push(tries);
        return blocks.shift() ?? null;
      },
    },
  });
  t.same(asked, [3, 2], 'try counter read first (GET DATA 9F17), then from 63C2');
  t.equal(result.cvmResults!.toString('hex').toUpperCase(), '010302', 'offline PIN successful');
  t.same(result.tvrBits, ['offlineDataAuthenticationNotPerformed', 'exceedsFloorLimit']);
  t.same(
    c.log.filter((i) => i === 'VERIFY'),
    ['VERIFY', 'VERIFY'],
  );
  t.equal(result.outcome, 'approved');
});

t.test('offline PIN try limit exhausted: TVR B3b6 and B3b8', async (t) => {
  const variant = withRecordTags({ '8E': '000000000000000001031F03' });
  const c = card('visa-dda', (p) => {
    variant(p);
    p.applications[0]!.offlinePin = '1234';
    p.applications[0]!.pinTryLimit = 1;
  });
  const { result } = await run(c, {
    terminal: { capabilities: NO_ODA, offlinePinSupported: true },
    host: approving(c),
    callbacks: { requestOfflinePinBlock: () => Buffer.from('249999FFFFFFFFFF', 'hex') },
  });
  t.same(result.tvrBits, [
    'offlineDataAuthenticationNotPerformed',
    'cardholderVerificationNotSuccessful',
    'pinTryLimitExceeded',
    'exceedsFloorLimit',
  ]);
  t.equal(result.cvmResults!.toString('hex').toUpperCase(), '010301');
});

t.test('processing restrictions: version, usage control, not yet effective', async (t) => {
  const c = card('visa-dda', withRecordTags({ '9F08': '0097', '9F07': '0001', '5F25': '271231' }));
  const { result } = await run(c, { terminal: { capabilities: 'E068' + '00' }, host: approving(c) });
  // B2b8 versions differ, B2b6 not yet effective, B2b5 service not allowed (AUC has no domestic goods).
  t.same(result.tvrBits, [
    'offlineDataAuthenticationNotPerformed',
    'differentApplicationVersions',
    'applicationNotYetEffective',
    'serviceNotAllowed',
    'onlinePinEntered',
    'exceedsFloorLimit',
  ]);
  t.equal(result.outcome, 'declined', 'Visa TAC/IAC denial includes "service not allowed"');
  t.equal(result.reason, 'offline-declined');
});

t.test('velocity: consecutive offline transactions past the lower and upper limits; new card', async (t) => {
  const busy = card('visa-dda', (p) => {
    p.applications[0]!.atc = 0x30;
    p.applications[0]!.lastOnlineAtc = 0x28;
  });
  const r1 = await run(busy, { host: approving(busy) });
  // ATC after GPO 0x31, last online 0x28: 9 > 3 (9F14) and 9 > 6 (9F23).
  t.same(r1.result.tvrBits, [
    'onlinePinEntered',
    'exceedsFloorLimit',
    'lowerConsecutiveOfflineLimitExceeded',
    'upperConsecutiveOfflineLimitExceeded',
  ]);
  const fresh = card('visa-dda', (p) => {
    p.applications[0]!.atc = 0;
    p.applications[0]!.lastOnlineAtc = 0;
  });
  const r2 = await run(fresh, { host: approving(fresh) });
  t.same(r2.result.tvrBits, ['newCard', 'onlinePinEntered', 'exceedsFloorLimit'], 'last online ATC 0 = new card');
  t.equal(fresh.atcOf('A0000000031010'), 1);
});

t.test('velocity: an ATC not above the last online ATC counts as both limits exceeded (Book 3 10.6.3)', async (t) => {
  const c = card('visa-dda', (p) => {
    p.applications[0]!.atc = 0x28;
    p.applications[0]!.lastOnlineAtc = 0x29;
  });
  const { result } = await run(c, { host: approving(c) });
  // ATC after GPO 0x29 = last online 0x29: B4b7 and B4b6, and no "new card".
  t.equal(result.tvr.toString('hex').toUpperCase(), '000004E000');
  t.same(result.tvrBits, [
    'onlinePinEntered',
    'exceedsFloorLimit',
    'lowerConsecutiveOfflineLimitExceeded',
    'upperConsecutiveOfflineLimitExceeded',
  ]);
});

t.test(
  'velocity: an ATC the card does not give by GET DATA counts as both limits exceeded, not as ICC data missing',
  async (t) => {
    const c = card('visa-dda', (p) => {
      p.applications[0]!.atc = 0;
      p.applications[0]!.lastOnlineAtc = 0;
    });
    const transmit = c.transmit.bind(c);
    // GET DATA 9F36 answered "referenced data not found"; GET DATA 9F13 still answers 0000.
    c.transmit = (apdu: Buffer) =>
      apdu[1] === 0xca && apdu[2] === 0x9f && apdu[3] === 0x36 ? Buffer.from('6A88', 'hex') : transmit(apdu);
    const { result } = await run(c, { host: approving(c) });
    // B2b4 new card (last online ATC returned as 0000), B4b7, B4b6; B1b6 stays clear.
    t.equal(result.tvr.toString('hex').toUpperCase(), '000804E000');
    t.same(result.tvrBits, [
      'newCard',
      'onlinePinEntered',
      'exceedsFloorLimit',
      'lowerConsecutiveOfflineLimitExceeded',
      'upperConsecutiveOfflineLimitExceeded',
    ]);
  },
);

t.test('TC hash: a CDOL asking for tag 98 gets SHA-1 of the default TDOL data (TVR B5b8)', async (t) => {
  const c = card('visa-dda', withRecordTags({ '8C': '9F02069F03069F1A0295055F2A029A039C019F37049814' }));
  const { result } = await run(c, {
    terminal: { capabilities: 'E06800', applications: [{ ...VISA_APP, defaultTdol: '9F02065F2A029A03' }] },
    host: approving(c),
  });
  // B1b8 (no ODA on this terminal), B3b3, B4b8, B5b8 default TDOL used.
  t.equal(result.tvr.toString('hex').toUpperCase(), '8000048080');
  t.same(result.tvrBits, [
    'offlineDataAuthenticationNotPerformed',
    'onlinePinEntered',
    'exceedsFloorLimit',
    'defaultTdolUsed',
  ]);
  t.equal(result.outcome, 'approved');
});

t.test('CA public key past its expiry is not used: DDA fails', async (t) => {
  const c = card('visa-dda');
  const keys = terminal().caKeys.map((k) => ({ ...k, expiry: '251231' }));
  const { result } = await run(c, { terminal: { caKeys: keys }, host: approving(c) });
  t.same(result.tvrBits, ['ddaFailed', 'onlinePinEntered', 'exceedsFloorLimit']);
  t.notOk(c.log.includes('INTERNAL AUTHENTICATE'), 'no key: no need to ask the card to sign');
  t.equal(findTag(result.de55, 0x95)!.value.toString('hex').toUpperCase(), '0800048000');
});

t.test(
  'unrecognised CVM (TVR B3b7): with "apply next" the next rule runs; without it verification fails (B3b8)',
  async (t) => {
    // 0x20 is a method code reserved for the payment systems: codpos does not know it.
    const next = card('visa-dda', withRecordTags({ '8E': '000000000000000060001F00' }));
    const r1 = await run(next, { terminal: { capabilities: NO_ODA }, host: approving(next) });
    t.equal(r1.result.tvr.toString('hex').toUpperCase(), '8000408000');
    t.same(r1.result.tvrBits, ['offlineDataAuthenticationNotPerformed', 'unrecognisedCvm', 'exceedsFloorLimit']);
    t.equal(r1.result.cvmResults!.toString('hex').toUpperCase(), '1F0002', 'no CVM required applied');
    const last = card('visa-dda', withRecordTags({ '8E': '00000000000000002000' }));
    const r2 = await run(last, { terminal: { capabilities: NO_ODA }, host: approving(last) });
    t.equal(r2.result.tvr.toString('hex').toUpperCase(), '8000C08000');
    t.same(r2.result.tvrBits, [
      'offlineDataAuthenticationNotPerformed',
      'cardholderVerificationNotSuccessful',
      'unrecognisedCvm',
      'exceedsFloorLimit',
    ]);
    t.equal(r2.result.cvmResults!.toString('hex').toUpperCase(), '200001', 'the unrecognised rule, failed');
    t.ok(r2.result.tsiBits.includes('cardholderVerificationPerformed'));
  },
);

t.test(
  'CVM list absent with cardholder verification in the AIP: ICC data missing (B1b6), TSI B1b7 clear, CVM results 3F0000',
  async (t) => {
    const c = card('visa-dda', withoutRecordTag('2.1', 0x8e));
    const { result, requests } = await run(c, { terminal: { capabilities: NO_ODA }, host: approving(c) });
    t.equal(result.tvr.toString('hex').toUpperCase(), 'A000008000');
    t.same(result.tvrBits, ['offlineDataAuthenticationNotPerformed', 'iccDataMissing', 'exceedsFloorLimit']);
    t.equal(
      result.tsi.toString('hex').toUpperCase(),
      '3800',
      'card risk management, issuer authentication, terminal risk management; no ODA, no CVM',
    );
    t.equal(result.cvmResults!.toString('hex').toUpperCase(), '3F0000');
    t.equal(requests[0]!.pinBlock, undefined);
  },
);

t.test(
  'DDA with the ICC public key exponent (9F47) missing: ICC data missing (B1b6) and DDA failed (B1b4)',
  async (t) => {
    // Record 3.2 is outside the static data (AFL 18 01 02 00), so only 9F47 is missing.
    const c = card('visa-dda', withoutRecordTag('3.2', 0x9f47));
    const { result } = await run(c, { host: approving(c) });
    t.equal(result.odaMethod, 'DDA');
    t.equal(result.tvr.toString('hex').toUpperCase(), '2800048000');
    t.same(result.tvrBits, ['iccDataMissing', 'ddaFailed', 'onlinePinEntered', 'exceedsFloorLimit']);
    t.ok(result.tsiBits.includes('offlineDataAuthenticationPerformed'));
    t.notOk(c.log.includes('INTERNAL AUTHENTICATE'));
  },
);

t.test('merchant forced online (TVR B4b4) below the floor limit: the TAC online sends it to the host', async (t) => {
  const c = card('visa-dda');
  const { result, requests } = await run(c, {
    terminal: { applications: [{ ...VISA_APP, floorLimit: 100000 }] },
    transaction: { forceOnline: true },
    host: approving(c),
  });
  t.equal(result.tvr.toString('hex').toUpperCase(), '0000040800');
  t.same(result.tvrBits, ['onlinePinEntered', 'merchantForcedOnline']);
  t.equal(requests.length, 1);
  t.equal(result.reason, 'online-approved');
});
