/**
 * The Visa-style kernel (Book C-3, qVSDC) against the shipped qVSDC virtual cards: the test
 * selects the AID itself (Entry Point is not under test) and activates the kernel with the FCI.
 * Outcomes, TVR, CVM and the data record are asserted; online requests' cryptograms are checked
 * with the acquirer simulator's issuer, which knows only the contact card visa-dda.
 */
import t from 'tap';
import { decodeTlv, encodeTlv, findTag, type Tlv } from '../../../emv/tlv/index.js';
import { loadCardProfile } from '../../../emv/card/index.js';
import { QvsdcApplet, loadQvsdcCardProfile, type QvsdcCardProfile } from '../../../emv/card/contactless-c3-applet.js';
import { C3_DATA_RECORD_TAGS, KernelC3, transactionTtq } from '../../../emv/contactless/kernel-c3.js';
import type {
  ContactlessCallbacks,
  ContactlessOutcome,
  PreProcessingIndicators,
} from '../../../emv/contactless/types.js';
import type { HostAnswer, TerminalConfig } from '../../../emv/kernel/types.js';
import { arqcVerifies, issuerAuthenticationData, issuerScriptTemplate } from '../../../runtime/host/sim-issuer.js';

import { terminal, transaction } from '../kernel/fixtures.js';

const AID = 'A0000000031010';
// EMV mode, contact chip, online PIN, signature; consumer device CVM supported.
const READER_TTQ = '36004000';
const NO_INDICATORS: PreProcessingIndicators = {
  statusCheckRequested: false,
  contactlessApplicationNotAllowed: false,
  zeroAmount: false,
  cvmRequiredLimitExceeded: false,
  floorLimitExceeded: false,
};
const contactApp = loadCardProfile('visa-dda').applications[0]!;

function applet(name: string, change?: (p: QvsdcCardProfile) => void): QvsdcApplet {
  const profile = loadQvsdcCardProfile(name);
  change?.(profile);
  return new QvsdcApplet(profile.applications[0]!, profile.form);
}

interface TapOptions {
  amount?: number;
  ttq?: string;
  indicators?: Partial<PreProcessingIndicators>;
  terminal?: Partial<TerminalConfig>;
  callbacks?: ContactlessCallbacks;
  transmit?: (apdu: Buffer) => Buffer;
  onlineResponse?: HostAnswer;
}

async function tap(card: QvsdcApplet, options: TapOptions = {}): Promise<ContactlessOutcome> {
  const aid = Buffer.from(AID, 'hex');
  const select = card.handle(Buffer.concat([Buffer.from([0x00, 0xa4, 0x04, 0x00, aid.length]), aid, Buffer.from([0])]));
  if (select.subarray(-2).toString('hex') !== '9000') throw new Error(`SELECT AID answered ${hexOf(select)}`);
  return new KernelC3().activate({
    transmit: options.transmit ?? ((apdu) => card.handle(apdu)),
    combination: { aid: AID, kernelId: 3, ttq: options.ttq ?? READER_TTQ },
    indicators: { ...NO_INDICATORS, ...options.indicators },
    fci: select.subarray(0, -2),
    terminal: terminal(options.terminal),
    transaction: transaction({ amount: options.amount ?? 1500 }),
    callbacks: options.callbacks ?? {},
    ...(options.onlineResponse ? { onlineResponse: options.onlineResponse } : {}),
  });
}

const hexOf = (b: Buffer | undefined) => b?.toString('hex').toUpperCase();
const tag = (tlvs: Tlv[], t: number) => hexOf(findTag(tlvs, t)?.value);

t.test('offline approved under the card limit: TC, fDDA verified, no CVM', async (t) => {
  const card = applet('cl-visa-fdda');
  const seen: string[] = [];
  const outcome = await tap(card, { callbacks: { cardRead: (c) => seen.push(c.pan) } });
  t.equal(outcome.status, 'approved', outcome.reason);
  t.equal(outcome.kernelId, 3);
  t.equal(outcome.cid, 0x40, 'the card answered a TC');
  t.equal(outcome.oda, 'fDDA');
  t.equal(outcome.odaFailed, undefined);
  t.equal(hexOf(outcome.tvr), '0000000000', 'nothing failed');
  t.equal(outcome.cvm, 'no-cvm');
  t.equal(hexOf(outcome.cvmResults), '1F0002');
  t.equal(outcome.online, undefined);
  t.equal(outcome.receipt, false);
  t.same(seen, [contactApp.pan], 'the card read is reported');
  t.same(card.log, ['SELECT', 'GPO', 'READ RECORD', 'READ RECORD', 'READ RECORD']);
  t.equal(tag(outcome.dataRecord, 0x9f27), '40');
  t.equal(tag(outcome.dataRecord, 0x9f26), hexOf(outcome.cryptogram));
  t.equal(tag(outcome.dataRecord, 0x9f66), READER_TTQ);
  t.equal(tag(outcome.dataRecord, 0x9f6e), '20700000');
  t.equal(tag(outcome.dataRecord, 0x9f02), '000000001500');
  t.equal(tag(outcome.dataRecord, 0x84), AID);
  t.same(
    outcome.dataRecord.map((d) => d.tag),
    C3_DATA_RECORD_TAGS,
    'every data record tag is present, in order',
  );
  // The TC is the card's over the data record: the issuer can check it in clearing.
  t.ok(arqcVerifies(contactApp, outcome.dataRecord));
});

t.test('the reader asks online (floor limit): ARQC that the acquirer simulator verifies', async (t) => {
  const card = applet('cl-visa-fdda');
  const outcome = await tap(card, { indicators: { floorLimitExceeded: true } });
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.cid, 0x80);
  t.equal(outcome.oda, 'none', 'no fDDA for an online cryptogram');
  t.equal(outcome.cvm, 'no-cvm');
  t.equal(tag(outcome.dataRecord, 0x9f66), '36804000', 'TTQ: online cryptogram required');
  const online = outcome.online!;
  t.equal(online.pan, contactApp.pan);
  t.equal(online.track2, `${contactApp.pan}=30122011143800000`);
  t.equal(online.expiry, '3012');
  t.equal(online.panSequenceNumber, '01');
  t.equal(online.pinBlock, undefined);
  t.same(online.de55, outcome.dataRecord);
  t.ok(arqcVerifies(contactApp, online.de55), 'the issuer verifies the ARQC from DE55');
  const tampered = online.de55.map((d) =>
    d.tag === 0x9f02 ? { tag: d.tag, value: Buffer.from('000000009999', 'hex') } : d,
  );
  t.notOk(arqcVerifies(contactApp, tampered), 'and would not over another amount');
  t.equal(outcome.onlineResponseData, 'none');
});

t.test('over the card offline limit the card itself asks online', async (t) => {
  const outcome = await tap(applet('cl-visa-fdda'), { amount: 5001 });
  t.equal(outcome.status, 'online-request');
  t.equal(outcome.cid, 0x80);
  const atLimit = await tap(applet('cl-visa-fdda'), { amount: 5000 });
  t.equal(atLimit.status, 'approved', 'at the limit it still approves offline');
});

t.test('over the CVM required limit: online PIN, asked through the callback', async (t) => {
  const pins: string[] = [];
  const outcome = await tap(applet('cl-visa-fdda'), {
    amount: 12000,
    indicators: { cvmRequiredLimitExceeded: true },
    callbacks: {
      requestOnlinePin: (pan) => {
        pins.push(pan);
        return Buffer.from('0412AC89ABCDEF67', 'hex');
      },
    },
  });
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.cvm, 'online-pin');
  t.equal(hexOf(outcome.cvmResults), '020000');
  t.same(pins, [contactApp.pan]);
  t.equal(hexOf(outcome.online!.pinBlock), '0412AC89ABCDEF67');
  t.equal(hexOf(outcome.tvr), '0000040000', 'TVR: online PIN entered');
  t.equal(tag(outcome.dataRecord, 0x95), '0000000000', 'DE55 carries the TVR the ARQC covers');
  t.equal(tag(outcome.dataRecord, 0x9f34), '020000');
  t.ok(arqcVerifies(contactApp, outcome.online!.de55));

  const bypassed = await tap(applet('cl-visa-fdda'), {
    amount: 12000,
    indicators: { cvmRequiredLimitExceeded: true },
    callbacks: { requestOnlinePin: () => null },
  });
  t.equal(bypassed.online!.pinBlock, undefined);
  t.equal(hexOf(bypassed.tvr), '0000080000', 'TVR: PIN not entered');
});

t.test('CVM required offline: signature when the reader supports it, declined when it supports none', async (t) => {
  const signed = await tap(applet('cl-visa-fdda'), { indicators: { cvmRequiredLimitExceeded: true } });
  t.equal(signed.status, 'approved', signed.reason);
  t.equal(signed.cvm, 'signature');
  t.equal(signed.receipt, true);
  // A reader without online PIN or signature: the card asks for nothing it can do.
  const none = await tap(applet('cl-visa-fdda'), { ttq: '30004000', indicators: { cvmRequiredLimitExceeded: true } });
  t.equal(none.status, 'declined');
  t.match(none.reason, /CVM is required/);
  t.equal(none.oda, 'fDDA', 'the TC was authenticated before the CVM declined it');
  const onlineNone = await tap(applet('cl-visa-fdda'), {
    ttq: '30004000',
    amount: 12000,
    indicators: { cvmRequiredLimitExceeded: true },
  });
  t.equal(onlineNone.status, 'declined');
  t.equal(onlineNone.cid, 0x80);
  t.equal(onlineNone.oda, 'none', 'no fDDA on an ARQC');
});

t.test('a phone verified its owner: consumer device CVM, confirmed by the signed CTQ', async (t) => {
  const phone = applet('cl-visa-fdda', (p) => {
    p.form = 'phone';
  });
  const outcome = await tap(phone, { indicators: { cvmRequiredLimitExceeded: true } });
  t.equal(outcome.status, 'approved', outcome.reason);
  t.equal(outcome.cvm, 'confirmation-code-verified');
  t.equal(hexOf(outcome.cvmResults), '3F0002');
  // A CTQ claiming CDCVM that the card did not sign (9F69 carries the card's real CTQ).
  const card = applet('cl-visa-fdda');
  const forged = await tap(card, {
    transmit: (apdu) => {
      const answer = card.handle(apdu);
      return apdu[1] === 0xa8 ? withCdcvmClaimed(answer) : answer;
    },
  });
  t.equal(forged.status, 'declined');
  t.match(forged.reason, /consumer device CVM/);
});

/** Sets the CDCVM-performed bit of 9F6C in a GPO answer (its value follows 9F 6C 02). */
function withCdcvmClaimed(answer: Buffer): Buffer {
  const out = Buffer.from(answer);
  const at = out.indexOf(Buffer.from('9F6C02', 'hex'));
  out[at + 4]! |= 0x80;
  return out;
}

t.test('the card declines: AAC', async (t) => {
  const outcome = await tap(
    applet('cl-visa-fdda', (p) => {
      p.applications[0]!.behaviour = { alwaysDecline: true };
    }),
  );
  t.equal(outcome.status, 'declined');
  t.equal(outcome.cid, 0x00);
  t.equal(outcome.online, undefined);
  t.match(outcome.reason, /AAC/);
  // An offline-only reader over the card's offline limit: the card cannot go online, it declines.
  const offlineOnly = await tap(applet('cl-visa-fdda'), { ttq: '3E004000', amount: 6000 });
  t.equal(offlineOnly.status, 'declined');
  t.equal(offlineOnly.cid, 0x00);
});

t.test('fDDA fails: online when the CTQ says so, else declined or another interface', async (t) => {
  const online = await tap(applet('cl-visa-bad-fdda'));
  t.equal(online.status, 'online-request', online.reason);
  t.equal(online.odaFailed, true);
  t.equal(online.oda, 'fDDA');
  t.equal(online.cid, 0x40, 'the request carries the card TC');
  t.equal(hexOf(online.tvr), '0800000000', 'TVR: DDA failed');
  t.match(online.reason, /fDDA failed \(sdad/);
  t.ok(arqcVerifies(contactApp, online.online!.de55), 'the issuer can still verify the cryptogram');

  const offlineTerminal = await tap(applet('cl-visa-bad-fdda'), { terminal: { onlineCapable: false } });
  t.equal(offlineTerminal.status, 'declined', 'a terminal that cannot go online declines');
  t.equal(offlineTerminal.odaFailed, true);

  const noOnline = await tap(
    applet('cl-visa-bad-fdda', (p) => {
      p.applications[0]!.ctq = '0000';
    }),
  );
  t.equal(noOnline.status, 'declined');
  t.equal(noOnline.odaFailed, true);
  t.equal(hexOf(noOnline.tvr), '0800000000');

  const switchInterface = await tap(
    applet('cl-visa-bad-fdda', (p) => {
      p.applications[0]!.ctq = '1000';
    }),
  );
  t.equal(switchInterface.status, 'try-another-interface');
  t.equal(switchInterface.alternateInterface, 'contact-chip');
  t.equal(switchInterface.odaFailed, true);
});

t.test('GPO 6984: try another interface (contact chip)', async (t) => {
  const card = applet('cl-visa-contact');
  const outcome = await tap(card);
  t.equal(outcome.status, 'try-another-interface');
  t.equal(outcome.alternateInterface, 'contact-chip');
  t.equal(outcome.uiRequestOnOutcome?.message, 'insert-card');
  t.same(card.log, ['SELECT', 'GPO'], 'no record read');
  t.equal(loadQvsdcCardProfile('cl-visa-contact').contactProfile, 'visa-dda');
});

t.test('other GPO statuses: 6985 select next, 6986 see phone, 6A80 end application', async (t) => {
  const statuses = { '6985': 'select-next', '6986': 'try-again', '6A80': 'end-application' } as const;
  for (const [sw, status] of Object.entries(statuses)) {
    const card = applet('cl-visa-fdda');
    const outcome = await tap(card, {
      transmit: (apdu) => (apdu[1] === 0xa8 ? Buffer.from(sw, 'hex') : card.handle(apdu)),
    });
    t.equal(outcome.status, status, sw);
  }
});

t.test('the card leaves the field: try again from protocol activation', async (t) => {
  for (const removedAt of [0xa8, 0xb2]) {
    const card = applet('cl-visa-fdda');
    const outcome = await tap(card, {
      transmit: (apdu) => {
        if (apdu[1] === removedAt) throw new Error('no answer from the card');
        return card.handle(apdu);
      },
    });
    t.equal(outcome.status, 'try-again', `removed at INS ${removedAt.toString(16)}`);
    t.equal(outcome.start, 'B');
    t.equal(outcome.uiRequestOnRestart?.message, 'present-card');
    t.equal(outcome.online, undefined);
  }
});

t.test('issuer update processing: ARPC and a script after the online response', async (t) => {
  const card = applet('cl-visa-fdda', (p) => {
    p.applications[0]!.ctq = '2040'; // the card supports issuer update
  });
  const ttq = '3600C000'; // the reader too
  const first = await tap(card, { ttq, indicators: { floorLimitExceeded: true } });
  t.equal(first.status, 'online-request');
  t.equal(first.onlineResponseData, 'emv-data');
  t.equal(first.uiRequestOnRestart?.message, 'present-card');
  const cryptogram = {
    arqc: findTag(first.dataRecord, 0x9f26)!.value,
    atc: findTag(first.dataRecord, 0x9f36)!.value,
  };
  const script = encodeTlv([
    issuerScriptTemplate(contactApp, cryptogram, 0x72, '00000001', [{ ins: 0x1e, p1: 0, p2: 0 }]),
  ]);
  const approved = await tap(card, {
    ttq,
    onlineResponse: {
      result: 'approved',
      responseCode: '00',
      issuerAuthenticationData: issuerAuthenticationData(contactApp, cryptogram, '00'),
      issuerScripts: script,
    },
  });
  t.equal(approved.status, 'approved', approved.reason);
  t.equal(card.issuerAuthenticated, true, 'the card accepted the ARPC');
  t.same(card.scriptsApplied, [0x1e]);
  t.equal(tag(approved.dataRecord, 0x9f5b), '2000000001', 'script 00000001 successful');
  t.equal(hexOf(approved.tvr), '0000000000');

  const wrongArpc = await tap(card, {
    ttq,
    onlineResponse: { result: 'approved', issuerAuthenticationData: Buffer.alloc(10) },
  });
  t.equal(wrongArpc.status, 'approved', 'the host decision stands');
  t.equal(card.issuerAuthenticated, false);
  t.equal(hexOf(wrongArpc.tvr), '0000000040', 'TVR: issuer authentication failed');

  const declined = await tap(card, { ttq, onlineResponse: { result: 'declined', responseCode: '05' } });
  t.equal(declined.status, 'declined');
});

t.test('the TTQ carries pre-processing: online cryptogram and CVM required bits', async (t) => {
  const configured = Buffer.from(READER_TTQ, 'hex');
  t.equal(hexOf(transactionTtq(configured, NO_INDICATORS)), READER_TTQ);
  t.equal(hexOf(transactionTtq(configured, { ...NO_INDICATORS, statusCheckRequested: true })), '36804000');
  t.equal(hexOf(transactionTtq(configured, { ...NO_INDICATORS, zeroAmount: true })), '36804000');
  t.equal(hexOf(transactionTtq(configured, { ...NO_INDICATORS, floorLimitExceeded: true })), '36804000');
  t.equal(hexOf(transactionTtq(configured, { ...NO_INDICATORS, cvmRequiredLimitExceeded: true })), '36404000');
  // Entry Point's own copy wins when it gives one.
  const card = applet('cl-visa-fdda');
  const outcome = await tap(card, { indicators: { ttq: Buffer.from('36800000', 'hex') } });
  t.equal(tag(outcome.dataRecord, 0x9f66), '36800000');
  t.equal(outcome.status, 'online-request');
});

/** A transmit that rewrites the GPO answer's data objects (template 77) before the kernel sees them. */
function gpoRewritten(card: QvsdcApplet, change: (items: Tlv[]) => Tlv[]): (apdu: Buffer) => Buffer {
  return (apdu) => {
    const answer = card.handle(apdu);
    if (apdu[1] !== 0xa8) return answer;
    const items = decodeTlv(answer.subarray(0, -2))[0]!.children!;
    return Buffer.concat([
      encodeTlv([{ tag: 0x77, value: Buffer.alloc(0), children: change(items) }]),
      answer.subarray(-2),
    ]);
  };
}

const without = (tag: number) => (items: Tlv[]) => items.filter((i) => i.tag !== tag);
const replaced = (tag: number, value: string) => (items: Tlv[]) =>
  items.map((i) => (i.tag === tag ? { tag, value: Buffer.from(value, 'hex') } : i));

t.test('a GPO answer qVSDC cannot use ends the application, naming what is wrong', async (t) => {
  const cases: Array<[string, (items: Tlv[]) => Tlv[], RegExp]> = [
    ['no cryptogram', without(0x9f26), /lacks 9F26/],
    ['no CID', without(0x9f27), /lacks 9F27/],
    ['no ATC', without(0x9f36), /lacks 9F36/],
    ['no track 2 equivalent', without(0x57), /lacks 57/],
    ['an AAR', replaced(0x9f27, 'C0'), /cryptogram type C0/],
    ['an AFL of 3 bytes', replaced(0x94, '100101'), /AFL \(94\) is 3 bytes/],
    ['an AFL entry from record 0', replaced(0x94, '10000101'), /AFL entry 10000101 is invalid/],
    ['an AFL naming a record the card has not', replaced(0x94, '10020200'), /READ RECORD 2\.2 answered 6A83/],
    ['a track 2 that does not parse', replaced(0x57, '4761ABCD'), /track 2 equivalent data \(57\) does not parse/],
  ];
  for (const [name, change, reason] of cases) {
    const card = applet('cl-visa-fdda');
    const outcome = await tap(card, { transmit: gpoRewritten(card, change) });
    t.equal(outcome.status, 'end-application', name);
    t.match(outcome.reason, reason, name);
  }
  const card = applet('cl-visa-fdda');
  const format1 = await tap(card, {
    transmit: (apdu) =>
      apdu[1] === 0xa8 ? Buffer.from('800620001001010190 00'.replace(/ /g, ''), 'hex') : card.handle(apdu),
  });
  t.equal(format1.status, 'end-application');
  t.match(format1.reason, /not a template 77/);
});

t.test('records the kernel cannot use end the application', async (t) => {
  const card = applet('cl-visa-fdda', (p) => {
    const app = p.applications[0]!;
    app.records['3.2'] = '6F03' + '5A0100';
  });
  const notTemplate = await tap(card);
  t.equal(notTemplate.status, 'end-application');
  t.match(notTemplate.reason, /record 3\.2 is not a template 70/);
  const duplicate = await tap(
    applet('cl-visa-fdda', (p) => {
      p.applications[0]!.records['3.2'] = '7004' + '5F3401' + '01';
    }),
  );
  t.equal(duplicate.status, 'end-application', 'a record repeating a tag');
  t.match(duplicate.reason, /5F34 twice/);
  const garbage = await tap(
    applet('cl-visa-fdda', (p) => {
      p.applications[0]!.records['3.2'] = '70FF';
    }),
  );
  t.match(garbage.reason, /record 3\.2 does not parse/);
});

t.test('configuration and FCI the kernel cannot run with end the application', async (t) => {
  const card = applet('cl-visa-fdda');
  const aid = Buffer.from(AID, 'hex');
  card.handle(Buffer.concat([Buffer.from([0x00, 0xa4, 0x04, 0x00, aid.length]), aid, Buffer.from([0])]));
  const base = {
    transmit: (apdu: Buffer) => card.handle(apdu),
    indicators: NO_INDICATORS,
    terminal: terminal(),
    transaction: transaction(),
    callbacks: {},
  };
  const noPdol = await new KernelC3().activate({
    ...base,
    combination: { aid: AID, kernelId: 3, ttq: READER_TTQ },
    fci: encodeTlv([{ tag: 0x6f, value: Buffer.alloc(0), children: [{ tag: 0x84, value: aid }] }]),
  });
  t.equal(noPdol.status, 'end-application');
  t.match(noPdol.reason, /no PDOL/);
  const fci = card.handle(Buffer.concat([Buffer.from([0x00, 0xa4, 0x04, 0x00, aid.length]), aid])).subarray(0, -2);
  const noTtq = await new KernelC3().activate({ ...base, combination: { aid: AID, kernelId: 3 }, fci });
  t.equal(noTtq.status, 'end-application');
  t.match(noTtq.reason, /no 4-byte TTQ/);
  t.same(
    card.log.filter((c) => c === 'GPO'),
    [],
    'no GPO was sent',
  );
});

t.test('fDDA failures the kernel names: missing data, version, CA key, static data, revocation', async (t) => {
  const missing = await tap(
    applet('cl-visa-fdda', (p) => delete p.applications[0]!.records['3.2']),
    {
      terminal: { onlineCapable: false },
    },
  );
  // The AFL still names 3.2: the card answers 6A83 and the application ends before fDDA.
  t.equal(missing.status, 'end-application');

  const card = applet('cl-visa-fdda');
  const noSdad = await tap(card, { transmit: gpoRewritten(card, without(0x9f4b)), terminal: { onlineCapable: false } });
  t.equal(noSdad.status, 'declined');
  t.match(noSdad.reason, /missing 9F4B/);
  t.equal(hexOf(noSdad.tvr), '2800000000', 'TVR: ICC data missing, DDA failed');

  const card2 = applet('cl-visa-fdda');
  const version = await tap(card2, {
    transmit: gpoRewritten(card2, (items) =>
      items.map((i) =>
        i.tag === 0x9f69 ? { tag: i.tag, value: Buffer.concat([Buffer.from([0x02]), i.value.subarray(1)]) } : i,
      ),
    ),
    terminal: { onlineCapable: false },
  });
  t.match(version.reason, /fDDA version 2, not 01/);

  const noCa = await tap(applet('cl-visa-fdda'), { terminal: { onlineCapable: false, caKeys: [] } });
  t.equal(noCa.status, 'declined');
  t.match(noCa.reason, /no usable CA public key for RID A000000003 index C3/);

  const changedRecord = await tap(
    applet('cl-visa-fdda', (p) => {
      const app = p.applications[0]!;
      // 5F28 issuer country 0840 -> 0841: the signed record no longer matches its certificate.
      app.records['2.1'] = app.records['2.1']!.replace('5F28020840', '5F28020841');
    }),
    { terminal: { onlineCapable: false } },
  );
  t.match(changedRecord.reason, /icc_cert_hash/);

  const revoked = await tap(applet('cl-visa-fdda'), {
    terminal: { onlineCapable: false, revokedCertificates: [{ rid: 'A000000003', index: 'C3', serial: 'C3D901' }] },
  });
  t.match(revoked.reason, /issuer_cert_revoked/);

  const moreThanAip = await tap(
    applet('cl-visa-fdda', (p) => {
      const app = p.applications[0]!;
      app.records['2.1'] = app.records['2.1']!.replace('9F4A0182', '9F4A0282' + '5A');
      app.records['2.1'] =
        '70' +
        Buffer.from(app.records['2.1'].slice(4), 'hex').length.toString(16).toUpperCase().padStart(2, '0') +
        app.records['2.1'].slice(4);
    }),
    { terminal: { onlineCapable: false } },
  );
  t.match(moreThanAip.reason, /static data to authenticate is malformed/);
});

t.test('no CTQ from the card: the reader chooses the CVM it needs', async (t) => {
  const cases: Array<[string, Partial<TapOptions>, string]> = [
    [
      'online, reader wants a CVM, online PIN supported',
      { indicators: { floorLimitExceeded: true, cvmRequiredLimitExceeded: true } },
      'online-pin',
    ],
    [
      'offline, reader wants a CVM, signature supported',
      { indicators: { cvmRequiredLimitExceeded: true } },
      'signature',
    ],
    ['reader wants no CVM', {}, 'no-cvm'],
  ];
  for (const [name, options, cvm] of cases) {
    const card = applet('cl-visa-fdda');
    const outcome = await tap(card, { ...options, transmit: gpoRewritten(card, without(0x9f6c)) });
    t.equal(outcome.cvm, cvm, name);
  }
  const card = applet('cl-visa-fdda');
  const none = await tap(card, {
    ttq: '30004000',
    indicators: { cvmRequiredLimitExceeded: true },
    transmit: gpoRewritten(card, without(0x9f6c)),
  });
  t.equal(none.status, 'declined');
  t.match(none.reason, /supports none the card can do/);
});

t.test('the card requires online PIN on an offline approval: declined', async (t) => {
  const card = applet('cl-visa-fdda');
  const outcome = await tap(card, { transmit: gpoRewritten(card, replaced(0x9f6c, 'A000')) });
  t.equal(outcome.status, 'declined');
  t.match(outcome.reason, /requires online PIN/);
});

t.test('a card without 5A: the PAN comes from the track 2 equivalent', async (t) => {
  const card = applet('cl-visa-fdda', (p) => {
    const app = p.applications[0]!;
    app.records['2.1'] = app.records['2.1']!.replace('5A084761739001010119', '');
    app.records['2.1'] =
      '70' +
      (app.records['2.1'].length / 2 - 2).toString(16).toUpperCase().padStart(2, '0') +
      app.records['2.1'].slice(4);
  });
  const outcome = await tap(card, { indicators: { floorLimitExceeded: true } });
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.online!.pan, contactApp.pan);
});

t.test('the card leaves the field during issuer update: the host decision stands, the reason says so', async (t) => {
  const card = applet('cl-visa-fdda');
  const outcome = await tap(card, {
    onlineResponse: { result: 'approved', issuerAuthenticationData: Buffer.alloc(10) },
    transmit: () => {
      throw new Error('gone');
    },
  });
  t.equal(outcome.status, 'approved');
  t.match(outcome.reason, /left the field during issuer update processing/);
});

t.test('an unknown profile name is refused, naming the shipped ones', async (t) => {
  t.throws(() => loadQvsdcCardProfile('cl-visa-nope'), { code: 'CODPOS_EMV_UNKNOWN_CARD', message: /cl-visa-fdda/ });
});

t.test('fDDA fails and the reader cannot follow the CTQ: declined', async (t) => {
  // An offline-only reader cannot go online even when the CTQ asks.
  const offlineOnly = await tap(applet('cl-visa-bad-fdda'), { ttq: '3E004000' });
  t.equal(offlineOnly.status, 'declined', offlineOnly.reason);
  // A reader without a contact chip cannot switch interface.
  const noContact = await tap(
    applet('cl-visa-bad-fdda', (p) => {
      p.applications[0]!.ctq = '1000';
    }),
    { ttq: '26004000' },
  );
  t.equal(noContact.status, 'declined', noContact.reason);
  t.equal(noContact.odaFailed, true);
});

t.test('GPO 6986 from a phone: see the phone, then tap again', async (t) => {
  const card = applet('cl-visa-fdda', (p) => {
    p.applications[0]!.behaviour = { gpoStatus: '6986' };
  });
  const outcome = await tap(card);
  t.equal(outcome.status, 'try-again');
  t.equal(outcome.start, 'B');
  t.equal(outcome.uiRequestOnOutcome?.message, 'see-phone');
  t.equal(outcome.uiRequestOnRestart?.message, 'present-card');
});

t.test(
  'issuer update: a script whose MAC is wrong fails and shows in the TVR; no issuer answer declines',
  async (t) => {
    const card = applet('cl-visa-fdda');
    const first = await tap(card, { indicators: { floorLimitExceeded: true } });
    const cryptogram = {
      arqc: Buffer.alloc(8), // not the card's ARQC: the MAC cannot verify
      atc: findTag(first.dataRecord, 0x9f36)!.value,
    };
    const script = encodeTlv([
      issuerScriptTemplate(contactApp, cryptogram, 0x72, '00000002', [{ ins: 0x1e, p1: 0, p2: 0 }]),
    ]);
    const outcome = await tap(card, { onlineResponse: { result: 'approved', issuerScripts: script } });
    t.equal(outcome.status, 'approved');
    t.same(card.scriptsApplied, []);
    t.equal(tag(outcome.dataRecord, 0x9f5b), '1100000002', 'script 00000002 failed at its first command');
    t.equal(hexOf(outcome.tvr), '0000000010', 'TVR: script failed after the final GENERATE AC');
    const unable = await tap(applet('cl-visa-fdda'), { onlineResponse: { result: 'unable' } });
    t.equal(unable.status, 'declined');
    t.match(unable.reason, /no answer from the issuer/);
  },
);

t.test('the applet refuses GPO before SELECT, PDOL data of the wrong length, and issuer update with no ARQC', (t) => {
  const card = applet('cl-visa-fdda');
  t.equal(hexOf(card.handle(Buffer.from('80A8000002830000', 'hex'))), '6985', 'GPO before SELECT');
  card.handle(Buffer.from('00A4040007' + AID + '00', 'hex'));
  t.equal(
    hexOf(card.handle(Buffer.from('80A8000004830212340 0'.replace(/ /g, ''), 'hex'))),
    '6A80',
    'PDOL data too short',
  );
  t.equal(hexOf(card.handle(Buffer.from('008200000A' + '00'.repeat(10), 'hex'))), '6985', 'no ARQC to authenticate');
  t.equal(hexOf(card.handle(Buffer.from('00A4040007A000000004101000', 'hex'))), '6A82', 'another AID');
  t.equal(hexOf(card.handle(Buffer.from('00B2051C00', 'hex'))), '6A83', 'a record the card has not');
  t.end();
});

t.test("the card's own CVM limit: at it the card asks for a CVM, below it not", async (t) => {
  const at = await tap(applet('cl-visa-fdda'), { amount: 10000 });
  t.equal(at.status, 'online-request', 'over the offline limit too');
  t.equal(at.cvm, 'online-pin', 'the CTQ asks online PIN at the card CVM limit');
  const below = await tap(applet('cl-visa-fdda'), { amount: 9999 });
  t.equal(below.cvm, 'no-cvm');
});

t.test('a phone going online with its owner verified: no further CVM', async (t) => {
  const phone = applet('cl-visa-fdda', (p) => {
    p.form = 'phone';
  });
  const outcome = await tap(phone, { amount: 12000, indicators: { cvmRequiredLimitExceeded: true } });
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.cvm, 'confirmation-code-verified');
  t.equal(outcome.online!.pinBlock, undefined);
});

t.test('issuer update needs both the card (CTQ) and the reader (TTQ)', async (t) => {
  const cardOnly = await tap(
    applet('cl-visa-fdda', (p) => {
      p.applications[0]!.ctq = '2040';
    }),
    { indicators: { floorLimitExceeded: true } },
  );
  t.equal(cardOnly.onlineResponseData, 'none');
  t.equal(cardOnly.uiRequestOnRestart, undefined);
  const readerOnly = await tap(applet('cl-visa-fdda'), { ttq: '3600C000', indicators: { floorLimitExceeded: true } });
  t.equal(readerOnly.onlineResponseData, 'none');
});

t.test('fDDA uses only a CA key of the right length that has not expired', async (t) => {
  const [key] = terminal().caKeys.filter((k) => k.rid === 'A000000003' && k.index === 'C3');
  const expired = await tap(applet('cl-visa-fdda'), {
    terminal: { onlineCapable: false, caKeys: [{ ...key!, expiry: '261128' }] },
  });
  t.equal(expired.status, 'declined', 'the key expired the day before the transaction (2026-11-29)');
  t.match(expired.reason, /no usable CA public key/);
  const lastDay = await tap(applet('cl-visa-fdda'), {
    terminal: { onlineCapable: false, caKeys: [{ ...key!, expiry: '261129' }] },
  });
  t.equal(lastDay.status, 'approved', 'usable on its expiry day');
  const shorter = await tap(applet('cl-visa-fdda'), {
    terminal: { onlineCapable: false, caKeys: [{ ...key!, modulus: key!.modulus.slice(2) }] },
  });
  t.match(shorter.reason, /no usable CA public key/);
});

t.test('an AFL flagging more signed records than it names is invalid', async (t) => {
  const card = applet('cl-visa-fdda');
  const outcome = await tap(card, { transmit: gpoRewritten(card, replaced(0x94, '10010102')) });
  t.equal(outcome.status, 'end-application');
  t.match(outcome.reason, /AFL entry 10010102 is invalid/);
});
