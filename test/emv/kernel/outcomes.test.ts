/**
 * Each shipped virtual card through the kernel with a scripted host answer,
 * outcome, TVR and TSI asserted bit by bit (hex and named bits, EMV Book 3 annex C5/C6).
 */
import t from 'tap';
import { decodeTlv, encodeTlv, findTag, tagToHex } from '../../../emv/tlv/index.js';
import { decideSwipe, parseTrack } from '../../../emv/magstripe/index.js';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import { PosError } from '../../../config/errors.js';
import { card, run, issuerFor, scriptTemplate, MC_APP, VISA_APP } from './fixtures.js';

t.test('visa-dda: online approved, DDA, online PIN, issuer authenticated by EXTERNAL AUTHENTICATE', async (t) => {
  const c = card('visa-dda');
  const issuer = issuerFor(c);
  const { result, requests } = await run(c, {
    host: (r) => ({
      result: 'approved',
      responseCode: '00',
      issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
    }),
  });
  t.equal(result.outcome, 'approved');
  t.equal(result.reason, 'online-approved');
  t.equal(result.online, true);
  t.equal(result.responseCode, '00');
  t.equal(result.odaMethod, 'DDA');
  // TVR: B3b3 online PIN entered, B4b8 floor limit (0) exceeded; nothing else.
  t.equal(result.tvr.toString('hex').toUpperCase(), '0000048000');
  t.same(result.tvrBits, ['onlinePinEntered', 'exceedsFloorLimit']);
  // TSI: ODA, CVM, card risk management, issuer authentication, terminal risk management.
  t.equal(result.tsi.toString('hex').toUpperCase(), 'F800');
  t.same(result.tsiBits, [
    'offlineDataAuthenticationPerformed',
    'cardholderVerificationPerformed',
    'cardRiskManagementPerformed',
    'issuerAuthenticationPerformed',
    'terminalRiskManagementPerformed',
  ]);
  t.equal(result.cid, 0x40, 'final cryptogram is a TC');
  t.equal(result.cvmResults!.toString('hex').toUpperCase(), '420300', 'online PIN, result unknown (issuer checks it)');
  t.equal(requests.length, 1);
  t.ok(requests[0]!.pinBlock, 'the PIN block goes to the host');
  const de55Tags = requests[0]!.de55.map((x) => tagToHex(x.tag));
  for (const tag of [
    '9F26',
    '9F27',
    '9F10',
    '9F37',
    '9F36',
    '95',
    '9A',
    '9C',
    '9F02',
    '5F2A',
    '82',
    '9F1A',
    '9F03',
    '9F33',
    '9F34',
    '9F35',
    '84',
  ])
    t.ok(de55Tags.includes(tag), `DE55 carries ${tag}`);
  t.equal(findTag(requests[0]!.de55, 0x9f27)!.value[0], 0x80, 'the request carried an ARQC');
  t.equal(findTag(result.de55, 0x95)!.value.toString('hex'), '0000048000', 'final DE55 has the final TVR');
  t.same(result.receipt, {
    aid: 'A0000000031010',
    label: 'VISA CREDIT',
    maskedPan: '************0119',
    tvr: '0000048000',
    tsi: 'F800',
  });
  t.notMatch(JSON.stringify(result.receipt), /4761739001010119/);
  t.same(
    c.log.filter((i) => i === 'EXTERNAL AUTHENTICATE'),
    ['EXTERNAL AUTHENTICATE'],
  );
});

t.test('visa-dda: online declined by the issuer', async (t) => {
  const c = card('visa-dda');
  const issuer = issuerFor(c);
  const { result } = await run(c, {
    host: (r) => ({
      result: 'declined',
      responseCode: '05',
      issuerAuthenticationData: issuer.issuerAuthenticationData(r, '05'),
    }),
  });
  t.equal(result.outcome, 'declined');
  t.equal(result.reason, 'issuer-declined');
  t.equal(result.responseCode, '05');
  t.equal(result.tvr.toString('hex').toUpperCase(), '0000048000');
  t.equal(result.tsi.toString('hex').toUpperCase(), 'F800');
  t.equal(result.cid, 0x00, 'the card closed with an AAC');
  t.equal(result.signatureRequired, false);
});

t.test('visa-dda: offline declined by the terminal action codes (card on exception file, TAC denial)', async (t) => {
  const c = card('visa-dda');
  const { result, requests } = await run(c, {
    terminal: { exceptionFile: ['4761739001010119'], applications: [{ ...VISA_APP, tacDenial: '1010000000' }] },
  });
  t.equal(result.outcome, 'declined');
  t.equal(result.reason, 'offline-declined');
  t.equal(result.online, false);
  t.equal(requests.length, 0, 'the host is never asked');
  t.equal(result.responseCode, 'Z1');
  // B1b5 card on exception file, B3b3 online PIN entered, B4b8 floor limit exceeded.
  t.equal(result.tvr.toString('hex').toUpperCase(), '1000048000');
  t.same(result.tvrBits, ['cardOnExceptionFile', 'onlinePinEntered', 'exceedsFloorLimit']);
  // No issuer authentication: ODA, CVM, card risk management, terminal risk management.
  t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
  t.equal(result.cid, 0x00);
  t.same(
    c.log.filter((i) => i === 'GENERATE AC'),
    ['GENERATE AC'],
    'one GENERATE AC asking for an AAC',
  );
});

t.test('expired: expired application declined offline by the IAC denial', async (t) => {
  const c = card('expired');
  const { result, requests } = await run(c);
  t.equal(result.outcome, 'declined');
  t.equal(result.reason, 'offline-declined');
  t.equal(requests.length, 0);
  // B2b7 expired application (with B3b3, B4b8).
  t.equal(result.tvr.toString('hex').toUpperCase(), '0040048000');
  t.same(result.tvrBits, ['expiredApplication', 'onlinePinEntered', 'exceedsFloorLimit']);
  t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
  t.equal(result.odaMethod, 'DDA', 'its certificates are fine: only the application date is past');
});

t.test(
  'mc-cda: online approved with CDA on both GENERATE ACs, issuer authentication inside GENERATE AC 2',
  async (t) => {
    const c = card('mc-cda');
    const issuer = issuerFor(c);
    const { result } = await run(c, {
      host: (r) => ({
        result: 'approved',
        responseCode: '00',
        issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
      }),
    });
    t.equal(result.outcome, 'approved');
    t.equal(result.odaMethod, 'CDA');
    t.equal(result.tvr.toString('hex').toUpperCase(), '0000048000');
    // No EXTERNAL AUTHENTICATE (tag 91 travels in CDOL2): TSI B1b5 stays clear.
    t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
    t.same(result.tsiBits, [
      'offlineDataAuthenticationPerformed',
      'cardholderVerificationPerformed',
      'cardRiskManagementPerformed',
      'terminalRiskManagementPerformed',
    ]);
    t.notOk(c.log.includes('EXTERNAL AUTHENTICATE'));
    t.equal(result.cid, 0x40);
    t.equal(result.cryptogram!.length, 8, 'the TC came out of the CDA signature');
  },
);

t.test('ODA failure: mc-cda with a wrong signature is declined without going online', async (t) => {
  const c = card('mc-cda', (p) => (p.faults = { wrongOdaSignature: true }));
  const { result, requests } = await run(c, { host: () => ({ result: 'approved' }) });
  t.equal(result.outcome, 'declined');
  t.equal(result.reason, 'cda-failed');
  t.equal(requests.length, 0, 'an ARQC with a bad CDA signature never goes online');
  // B1b3 CDA failed.
  t.equal(result.tvr.toString('hex').toUpperCase(), '0400048000');
  t.same(result.tvrBits, ['cdaFailed', 'onlinePinEntered', 'exceedsFloorLimit']);
  t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
  t.equal(result.cid, 0x00, 'closed with an AAC in GENERATE AC 2');
});

t.test('ODA failure: visa-dda with a wrong DDA signature goes online with TVR B1b4 set', async (t) => {
  const c = card('visa-dda', (p) => (p.faults = { wrongOdaSignature: true }));
  const issuer = issuerFor(c);
  const { result, requests } = await run(c, {
    host: (r) => ({
      result: 'declined',
      responseCode: '05',
      issuerAuthenticationData: issuer.issuerAuthenticationData(r, '05'),
    }),
  });
  t.equal(
    findTag(requests[0]!.de55, 0x95)!.value.toString('hex').toUpperCase(),
    '0800048000',
    'the issuer sees DDA failed',
  );
  t.equal(result.tvr.toString('hex').toUpperCase(), '0800048000');
  t.same(result.tvrBits, ['ddaFailed', 'onlinePinEntered', 'exceedsFloorLimit']);
  t.equal(result.tsi.toString('hex').toUpperCase(), 'F800');
  t.equal(result.outcome, 'declined');
});

t.test('unable to go online: sda card, default action codes decide (Z3 and Y3)', async (t) => {
  t.test('Z3: floor limit exceeded is in the default codes -> declined', async (t) => {
    const c = card('sda');
    const { result } = await run(c, { host: () => ({ result: 'unable' }) });
    t.equal(result.outcome, 'declined');
    t.equal(result.reason, 'unable-to-go-online-declined');
    t.equal(result.responseCode, 'Z3');
    t.equal(result.online, false);
    t.equal(result.odaMethod, 'SDA');
    // B1b2 SDA selected, B4b8 floor limit exceeded. Signature CVM sets no TVR bit.
    t.equal(result.tvr.toString('hex').toUpperCase(), '0200008000');
    t.same(result.tvrBits, ['sdaSelected', 'exceedsFloorLimit']);
    t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
    t.equal(result.cid, 0x00);
    t.equal(result.cvmResults!.toString('hex').toUpperCase(), '1E0300');
  });
  t.test('Y3: selected randomly for online (not in the default codes) -> approved offline by the card', async (t) => {
    const c = card('sda');
    const { result } = await run(c, {
      terminal: {
        applications: [
          {
            ...VISA_APP,
            floorLimit: 100000,
            randomSelection: { threshold: 0, targetPercent: 50, maxTargetPercent: 50 },
          },
        ],
      },
      callbacks: { random: () => 1 },
      host: () => ({ result: 'unable' }),
    });
    t.equal(result.outcome, 'approved');
    t.equal(result.reason, 'unable-to-go-online-approved');
    t.equal(result.responseCode, 'Y3');
    // B1b2 SDA selected, B4b5 selected randomly for online processing.
    t.equal(result.tvr.toString('hex').toUpperCase(), '0200001000');
    t.same(result.tvrBits, ['sdaSelected', 'selectedRandomlyForOnline']);
    t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
    t.equal(result.cid, 0x40);
    t.equal(result.signatureRequired, true, 'signature CVM: the receipt needs a signature line');
  });
});

t.test('sda: offline approved below the floor limit', async (t) => {
  const c = card('sda');
  const { result, requests } = await run(c, { terminal: { applications: [{ ...VISA_APP, floorLimit: 100000 }] } });
  t.equal(result.outcome, 'approved');
  t.equal(result.reason, 'offline-approved');
  t.equal(result.responseCode, 'Y1');
  t.equal(requests.length, 0);
  t.equal(result.tvr.toString('hex').toUpperCase(), '0200000000');
  t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
});

t.test('issuer authentication failure: a wrong ARPC fails EXTERNAL AUTHENTICATE and the card declines', async (t) => {
  const c = card('visa-dda');
  const issuer = issuerFor(c);
  const { result } = await run(c, {
    host: (r) => {
      const iad = issuer.issuerAuthenticationData(r, '00');
      iad[0]! ^= 0xff;
      return { result: 'approved', responseCode: '00', issuerAuthenticationData: iad };
    },
  });
  t.equal(result.outcome, 'declined');
  t.equal(result.reason, 'card-declined-after-online-approval');
  // B5b7 issuer authentication failed.
  t.equal(result.tvr.toString('hex').toUpperCase(), '0000048040');
  t.same(result.tvrBits, ['onlinePinEntered', 'exceedsFloorLimit', 'issuerAuthenticationFailed']);
  t.equal(result.tsi.toString('hex').toUpperCase(), 'F800', 'issuer authentication was performed (and failed)');
  t.equal(result.cid, 0x00);
});

t.test('issuer scripts: 71 before and 72 after the final GENERATE AC, results in 9F5B', async (t) => {
  const c = card('visa-dda');
  const issuer = issuerFor(c);
  const { result } = await run(c, {
    host: (r) => ({
      result: 'approved',
      responseCode: '00',
      issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
      issuerScripts: Buffer.concat([
        // PUT DATA 9F14 (lower consecutive offline limit) = 05, before GENERATE AC 2.
        scriptTemplate(0x71, '11223344', [issuer.scriptCommand(r, 0xda, 0x9f, 0x14, Buffer.from([0x05]))]),
        // APPLICATION BLOCK after it.
        scriptTemplate(0x72, '55667788', [issuer.scriptCommand(r, 0x1e, 0x00, 0x00)]),
      ]),
    }),
  });
  t.equal(result.outcome, 'approved');
  t.same(
    result.scriptResults.map((s) => s.value.toString('hex').toUpperCase()),
    ['2011223344', '2055667788'],
    'both scripts successful',
  );
  t.equal(findTag(result.de55, 0x9f5b)!.value.toString('hex').toUpperCase(), '20112233442055667788');
  t.equal(result.tvr.toString('hex').toUpperCase(), '0000048000');
  // TSI B1b3 script processing performed.
  t.equal(result.tsi.toString('hex').toUpperCase(), 'FC00');
  t.ok(c.isBlocked('A0000000031010'), 'the card ran APPLICATION BLOCK');
  const order = c.log.filter((i) => ['PUT DATA', 'GENERATE AC', 'APPLICATION BLOCK'].includes(i));
  t.same(order, ['GENERATE AC', 'PUT DATA', 'GENERATE AC', 'APPLICATION BLOCK']);
});

t.test('issuer scripts: a command with a wrong MAC fails its script (TVR B5b5 after final GENERATE AC)', async (t) => {
  const c = card('visa-dda');
  const issuer = issuerFor(c);
  const { result } = await run(c, {
    host: (r) => {
      const bad = issuer.scriptCommand(r, 0x1e, 0x00, 0x00);
      bad[bad.length - 1]! ^= 0x01;
      return {
        result: 'approved',
        responseCode: '00',
        issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
        issuerScripts: scriptTemplate(0x72, 'AABBCCDD', [bad]),
      };
    },
  });
  t.equal(result.outcome, 'approved', 'a failed script does not undo the approval');
  t.same(
    result.scriptResults.map((s) => s.value.toString('hex').toUpperCase()),
    ['11AABBCCDD'],
    'failed at command 1',
  );
  t.equal(result.tvr.toString('hex').toUpperCase(), '0000048010');
  t.same(result.tvrBits, ['onlinePinEntered', 'exceedsFloorLimit', 'scriptFailedAfterFinalGenerateAc']);
  t.equal(result.tsi.toString('hex').toUpperCase(), 'FC00');
  t.notOk(c.isBlocked('A0000000031010'));
});

t.test(
  'issuer scripts: a 71 command with a wrong MAC fails its script (TVR B5b6, before final GENERATE AC)',
  async (t) => {
    const c = card('visa-dda');
    const issuer = issuerFor(c);
    const { result } = await run(c, {
      host: (r) => {
        const bad = issuer.scriptCommand(r, 0xda, 0x9f, 0x14, Buffer.from([0x05]));
        bad[bad.length - 1]! ^= 0x01;
        return {
          result: 'approved',
          responseCode: '00',
          issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
          issuerScripts: scriptTemplate(0x71, '01020304', [bad]),
        };
      },
    });
    t.equal(result.outcome, 'approved');
    t.same(
      result.scriptResults.map((s) => s.value.toString('hex').toUpperCase()),
      ['1101020304'],
      'failed at command 1',
    );
    t.equal(result.tvr.toString('hex').toUpperCase(), '0000048020');
    t.same(result.tvrBits, ['onlinePinEntered', 'exceedsFloorLimit', 'scriptFailedBeforeFinalGenerateAc']);
    t.equal(result.tsi.toString('hex').toUpperCase(), 'FC00');
    t.equal(
      findTag(result.de55, 0x95)!.value.toString('hex').toUpperCase(),
      '0000048020',
      'the final TVR in DE55 carries it',
    );
  },
);

t.test('magstripe-only and mute-chip: no chip session, the stripe rules decide', async (t) => {
  const stripe = new VirtualCard(loadCardProfile('magstripe-only'));
  t.throws(() => stripe.powerOn(), { code: 'CODPOS_EMV_NO_CHIP' });
  const stripeTrack = parseTrack(stripe.tracks.track2!);
  t.same(decideSwipe(stripeTrack.serviceCode, false), { accept: true, posEntryMode: '90', fallback: false });

  const mute = new VirtualCard(loadCardProfile('mute-chip'));
  let chipFailed = false;
  try {
    mute.powerOn();
  } catch (error) {
    chipFailed = error instanceof PosError && error.code === 'CODPOS_EMV_CHIP_MUTE';
  }
  t.ok(chipFailed, 'the chip does not answer');
  const muteTrack = parseTrack(mute.tracks.track2!);
  t.equal(muteTrack.serviceCode, '201');
  t.same(
    decideSwipe(muteTrack.serviceCode, false),
    { accept: false, reason: 'insert-chip' },
    'swiping first is refused',
  );
  t.same(
    decideSwipe(muteTrack.serviceCode, chipFailed),
    { accept: true, posEntryMode: '80', fallback: true },
    'after the chip failed: fallback',
  );
});

t.test('a chip that goes mute mid-transaction is a PosError (a fault), not an outcome', async (t) => {
  const c = card('visa-dda');
  let calls = 0;
  const transmit = (apdu: Buffer) => {
    if (++calls === 6) c.faults.mute = true;
    return c.transmit(apdu);
  };
  const { runTransaction } = await import('../../../emv/kernel/index.js');
  const { terminal, transaction } = await import('./fixtures.js');
  await t.rejects(
    runTransaction({
      transmit,
      terminal: terminal(),
      transaction: transaction(),
      callbacks: { goOnline: () => ({ result: 'unable' }) },
    }),
    { code: 'CODPOS_EMV_CHIP_MUTE' },
  );
});

t.test(
  'a host fault (PosError of area HOST) is "unable to go online": the card still gets GENERATE AC 2',
  async (t) => {
    const c = card('sda');
    const { result } = await run(c, {
      host: () => {
        throw new PosError('CODPOS_HOST_TIMEOUT', 'no answer from the acquirer in 30 s');
      },
    });
    t.equal(result.reason, 'unable-to-go-online-declined');
    t.equal(result.responseCode, 'Z3');
    t.same(
      c.log.filter((i) => i === 'GENERATE AC'),
      ['GENERATE AC', 'GENERATE AC'],
    );
  },
);

t.test(
  'mc-cda: a wrong ARPC inside GENERATE AC 2 makes the card decline (no TVR bit: the terminal cannot see it)',
  async (t) => {
    const c = card('mc-cda');
    const issuer = issuerFor(c);
    const { result } = await run(c, {
      host: (r) => {
        const iad = issuer.issuerAuthenticationData(r, '00');
        iad[2]! ^= 0x40;
        return { result: 'approved', responseCode: '00', issuerAuthenticationData: iad };
      },
    });
    t.equal(result.outcome, 'declined');
    t.equal(
      result.reason,
      'card-declined-after-online-approval',
      'approved by the issuer, declined by the card: the caller reverses',
    );
    t.equal(result.tvr.toString('hex').toUpperCase(), '0000048000');
    t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
    t.equal(result.cid, 0x00);
  },
);

t.test(
  'unable to go online with CDA: a bad signature on the TC of GENERATE AC 2 declines (TVR B1b3), never approves',
  async (t) => {
    const options = {
      // No online PIN on this terminal (9F33 byte 2 = 28): the card's "online PIN if supported"
      // rule is passed over for signature, so no PIN bit meets the default codes; only
      // "selected randomly" (not in them) sends it online, and offline the card's TC is wanted.
      terminal: {
        capabilities: 'E028C8',
        applications: [
          VISA_APP,
          { ...MC_APP, floorLimit: 100000, randomSelection: { threshold: 0, targetPercent: 50, maxTargetPercent: 50 } },
        ],
      },
      callbacks: { random: () => 1 },
      host: () => ({ result: 'unable' as const }),
    };
    const good = card('mc-cda');
    const approved = await run(good, options);
    t.equal(
      approved.result.reason,
      'unable-to-go-online-approved',
      "with a good signature the card's TC approves (Y3)",
    );
    t.equal(approved.result.tvr.toString('hex').toUpperCase(), '0000001000');

    const c = card('mc-cda');
    const counter = badSignatureOnSecondGenerateAc(c);
    const { result } = await run(c, options);
    t.equal(result.outcome, 'declined');
    t.equal(result.reason, 'cda-failed');
    t.equal(result.responseCode, 'Z3');
    // B1b3 CDA failed, B4b5 selected randomly for online.
    t.equal(result.tvr.toString('hex').toUpperCase(), '0400001000');
    t.same(result.tvrBits, ['cdaFailed', 'selectedRandomlyForOnline']);
    t.equal(counter.generateAcs, 2);
  },
);

t.test(
  'online approved with CDA: a bad signature on the TC of GENERATE AC 2 declines (TVR B1b3); the approval is to be reversed',
  async (t) => {
    const c = card('mc-cda');
    const issuer = issuerFor(c);
    badSignatureOnSecondGenerateAc(c);
    const { result } = await run(c, {
      host: (r) => ({
        result: 'approved',
        responseCode: '00',
        issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
      }),
    });
    t.equal(result.outcome, 'declined');
    t.equal(result.reason, 'cda-failed');
    t.equal(result.online, true, 'the issuer approved: the caller reverses');
    t.equal(result.tvr.toString('hex').toUpperCase(), '0400048000');
    t.same(result.tvrBits, ['cdaFailed', 'onlinePinEntered', 'exceedsFloorLimit']);
    t.equal(result.tsi.toString('hex').toUpperCase(), 'E800');
  },
);

/** Makes the card's answer to GENERATE AC 2 carry a signature (9F4B) with its last byte flipped. */
function badSignatureOnSecondGenerateAc(c: ReturnType<typeof card>): { generateAcs: number } {
  const counter = { generateAcs: 0 };
  const transmit = c.transmit.bind(c);
  c.transmit = (apdu: Buffer) => {
    const answer = transmit(apdu);
    if (apdu[1] === 0xae) counter.generateAcs++;
    // The answer to GENERATE AC 2 comes directly or by GET RESPONSE after 61xx.
    if (counter.generateAcs !== 2 || answer[0] !== 0x77) return answer;
    const [template] = decodeTlv(answer.subarray(0, answer.length - 2));
    const children = template!.children!.map((x) => {
      if (x.tag !== 0x9f4b) return x;
      const value = Buffer.from(x.value);
      value[value.length - 1]! ^= 0x01;
      return { tag: x.tag, value };
    });
    return Buffer.concat([encodeTlv([{ tag: 0x77, value: Buffer.alloc(0), children }]), answer.subarray(-2)]);
  };
  return counter;
}
