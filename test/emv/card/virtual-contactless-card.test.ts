/** The virtual contactless card container: its PPSE, routing to applets by AID, and the profile loader. */
import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualContactlessCard, ppseFci } from '../../../emv/card/virtual-contactless-card.js';
import {
  contactlessProfilesDirectory,
  listContactlessProfiles,
  loadContactlessProfile,
} from '../../../emv/card/contactless-profiles.js';
import type {
  ContactlessApplet,
  ContactlessApplicationBase,
  ContactlessCardProfile,
} from '../../../emv/card/contactless-profile.js';
import { decodeTlv, findTag } from '../../../emv/tlv/index.js';
import { parsePpseFci } from '../../../emv/contactless/ppse.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const swOf = (r: Buffer) =>
  r
    .subarray(r.length - 2)
    .toString('hex')
    .toUpperCase();
const SELECT_PPSE = hex('00A404000E 325041592E5359532E4444463031 00');
const selectAid = (aid: string) => Buffer.concat([hex('00A40400'), Buffer.from([aid.length / 2]), hex(aid), hex('00')]);

/** A test applet: answers SELECT with a small FCI naming its AID, anything else with its INS echoed, and records what it got. */
class RecordingApplet implements ContactlessApplet {
  readonly received: string[] = [];
  constructor(readonly aid: string) {}
  handle(apdu: Buffer): Buffer {
    this.received.push(apdu.toString('hex').toUpperCase());
    if (apdu[1] === 0xa4) return fci(this.aid);
    return Buffer.from([apdu[1]!, 0x90, 0x00]);
  }
}

function fci(aid: string): Buffer {
  const name = hex(aid);
  return Buffer.concat([Buffer.from([0x6f, name.length + 2, 0x84, name.length]), name, hex('9000')]);
}

const profile: ContactlessCardProfile = {
  name: 'test-dual',
  description: 'two applications, one with a kernel identifier',
  form: 'card',
  type: 'A',
  uid: '04A1B2C3',
  ppse: [
    { aid: 'A0000000041010', label: 'MASTERCARD', priority: '01', kernelIdentifier: '02' },
    { aid: 'A0000000031010', label: 'VISA', priority: '02' },
  ],
  applications: [
    { aid: 'A0000000041010', label: 'MASTERCARD', kernelId: 2 },
    { aid: 'A0000000031010', label: 'VISA', kernelId: 3 },
  ],
};

function cardWithApplets(p: ContactlessCardProfile = profile) {
  const applets = new Map<string, RecordingApplet>();
  const asked: ContactlessApplicationBase[] = [];
  const card = new VirtualContactlessCard(p, (app) => {
    asked.push(app);
    const applet = new RecordingApplet(app.aid);
    applets.set(app.aid, applet);
    return applet;
  });
  return { card, applets, asked };
}

t.test('SELECT PPSE answers an FCI with the directory of the profile', async (t) => {
  const { card } = cardWithApplets();
  const answer = card.handle(SELECT_PPSE);
  t.equal(swOf(answer), '9000');
  const fciBytes = answer.subarray(0, answer.length - 2);
  t.same(fciBytes, ppseFci(profile));
  const template = findTag(decodeTlv(fciBytes), 0x6f)!;
  t.equal(findTag(template.children!, 0x84)!.value.toString('ascii'), '2PAY.SYS.DDF01');
  const directory = findTag(findTag(template.children!, 0xa5)!.children!, 0xbf0c)!.children!;
  t.equal(directory.length, 2);
  const first = directory[0]!.children!;
  t.equal(findTag(first, 0x4f)!.value.toString('hex').toUpperCase(), 'A0000000041010');
  t.equal(findTag(first, 0x50)!.value.toString('latin1'), 'MASTERCARD');
  t.equal(findTag(first, 0x87)!.value.toString('hex'), '01');
  t.equal(findTag(first, 0x9f2a)!.value.toString('hex'), '02');
  t.equal(findTag(directory[1]!.children!, 0x9f2a), undefined, 'no kernel identifier when the profile has none');
  t.same(
    parsePpseFci(fciBytes).map((e) => [e.adfName.toString('hex').toUpperCase(), e.label, e.priority]),
    [
      ['A0000000041010', 'MASTERCARD', 1],
      ['A0000000031010', 'VISA', 2],
    ],
    "Entry Point's parser reads it back",
  );
});

t.test('a card without PPSE answers 6A82', async (t) => {
  const { ppse: _ppse, ...noPpse } = profile;
  const { card } = cardWithApplets(noPpse);
  t.equal(swOf(card.handle(SELECT_PPSE)), '6A82');
});

t.test('SELECT of an AID and every later command go to that applet', async (t) => {
  const { card, applets, asked } = cardWithApplets();
  t.same(
    asked.map((a) => a.aid),
    ['A0000000041010', 'A0000000031010'],
    'one applet per application, made once',
  );
  t.equal(swOf(card.handle(hex('80A8000002830000'))), '6985', 'nothing selected yet');
  const selected = card.handle(selectAid('A0000000031010'));
  t.same(selected, fci('A0000000031010'), 'the applet answers its own SELECT');
  t.same(card.handle(hex('80A8000002830000')), hex('A89000'), 'GPO reaches the selected applet');
  t.same(applets.get('A0000000031010')!.received, [
    selectAid('A0000000031010').toString('hex').toUpperCase(),
    '80A8000002830000',
  ]);
  t.same(applets.get('A0000000041010')!.received, [], 'the other applet saw nothing');

  t.equal(swOf(card.handle(selectAid('A0000000999999'))), '6A82', 'an AID the card does not hold');
  t.equal(swOf(card.handle(hex('80A8000002830000'))), '6985', 'a failed SELECT leaves nothing selected');
  card.handle(selectAid('A0000000041010'));
  card.handle(SELECT_PPSE);
  t.equal(swOf(card.handle(hex('80CA9F1700'))), '6985', 'SELECT PPSE deselects the application');
  t.same(card.log.slice(0, 2), ['80A80000', '00A40400'], 'headers are logged, not data');
});

t.test('the card as a target in the field, and malformed commands', async (t) => {
  const { card } = cardWithApplets();
  const target = card.asTarget();
  t.equal(target.type, 'A');
  t.equal(target.uid.toString('hex'), '04a1b2c3');
  t.equal(swOf(await target.transmit(SELECT_PPSE)), '9000');
  t.throws(() => card.handle(hex('00A4')), { code: 'CODPOS_EMV_APDU' });
  t.equal(swOf(card.handle(hex('00A404000E325041'))), '6700', 'a SELECT whose data is cut short');
});

t.test('profile loader', async (t) => {
  t.match(contactlessProfilesDirectory(), /emv[\\/]card[\\/]contactless-profiles$/);
  t.same(listContactlessProfiles(join(tmpdir(), 'codpos-no-such-dir-for-profiles')), [], 'no directory: none');
  const dir = mkdtempSync(join(tmpdir(), 'codpos-cl-profiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'zeta.json'), JSON.stringify({ ...profile, name: 'zeta' }));
  writeFileSync(join(dir, 'alpha.json'), JSON.stringify({ ...profile, name: 'alpha' }));
  writeFileSync(join(dir, 'notes.txt'), 'not a profile');
  t.same(listContactlessProfiles(dir), ['alpha', 'zeta']);
  const loaded = loadContactlessProfile('alpha', dir);
  t.equal(loaded.name, 'alpha');
  loaded.applications[0]!.label = 'changed';
  t.equal(loadContactlessProfile('alpha', dir).applications[0]!.label, 'MASTERCARD', 'each load is a fresh copy');
  t.throws(() => loadContactlessProfile('nope', dir), { code: 'CODPOS_EMV_UNKNOWN_CARD', message: /alpha, zeta/ });
  t.throws(() => loadContactlessProfile('../alpha', dir), { code: 'CODPOS_EMV_UNKNOWN_CARD' });
  t.throws(() => loadContactlessProfile('notes', dir), { code: 'CODPOS_EMV_UNKNOWN_CARD' });
});
