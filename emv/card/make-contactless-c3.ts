/**
 * Makes the shipped Visa-style contactless card profiles (qVSDC, fDDA) ONCE: a codpos test CA
 * of its own (index C3 under the Visa-style RID), an issuer key, ICC keys, certificates over
 * each card's static data, records. The output is committed
 * (emv/card/contactless-profiles/cl-visa-*.json, emv/card/test-ca-c3.json) so every test runs
 * against the same bytes. Run again only to change these cards (it changes every key):
 *   npm run build && node dist/emv/card/make-contactless-c3.js
 * The cards carry the contact card visa-dda's PAN, sequence number, CVN and issuer master
 * keys: the same card seen through its antenna, so the acquirer simulator, which knows the
 * contact profiles, verifies their cryptograms unchanged.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import { encodeTlv, type Tlv } from '../tlv/index.js';
import { buildIccCertificate, buildIssuerCertificate, generateRsaKeyPair } from '../crypto/oda-sign.js';
import type { CaPublicKey } from '../kernel/types.js';
import { loadCardProfile } from './profile.js';
import type { QvsdcApplicationProfile, QvsdcBehaviour, QvsdcCardProfile } from './contactless-c3-applet.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const tlv = (tag: number, value: Buffer): Tlv => ({ tag, value });
const record = (items: Tlv[]) =>
  encodeTlv([{ tag: 0x70, value: Buffer.alloc(0), children: items }])
    .toString('hex')
    .toUpperCase();

const RID = 'A000000003';
const CA_INDEX = 'C3';
const CA_EXPIRY = '351231';
// Book C-3's PDOL: TTQ, amounts, country, TVR, currency, date, type, unpredictable number.
const QVSDC_PDOL = '9F66049F02069F03069F1A0295055F2A029A039C019F3704';

const ca = generateRsaKeyPair(1152, 3);
const issuer = generateRsaKeyPair(1024, 3);
const contact = loadCardProfile('visa-dda').applications[0]!;

interface Spec {
  name: string;
  description: string;
  uid: string;
  ctq: string;
  behaviour?: QvsdcBehaviour;
}

function makeCard(spec: Spec): QvsdcCardProfile {
  const pan = contact.pan;
  const expiry = '301231';
  const aip = '2000'; // fDDA (DDA) supported
  // SFI 2 record 1 is signed (static data to authenticate, with the AIP as 9F4A asks).
  const rec21: Tlv[] = [
    tlv(0x5a, hex(pan)),
    tlv(0x5f24, hex(expiry)),
    tlv(0x5f25, hex('200101')),
    tlv(0x5f28, hex('0840')),
    tlv(0x9f07, hex('FF00')),
    tlv(0x9f4a, hex('82')),
  ];
  const staticData = Buffer.concat([encodeTlv(rec21), hex(aip)]);
  const issuerCert = buildIssuerCertificate({
    ca,
    issuerKey: issuer.publicKey,
    issuerId: pan.slice(0, 6),
    expiry: '1230',
    serial: hex('C3D901'),
  });
  const icc = generateRsaKeyPair(768, 3);
  const iccCert = buildIccCertificate({
    issuer,
    iccKey: icc.publicKey,
    pan,
    expiry: '1230',
    serial: hex('C3D902'),
    staticData,
  });
  const rec31: Tlv[] = [tlv(0x8f, hex(CA_INDEX)), tlv(0x90, issuerCert.certificate), tlv(0x9f32, issuerCert.exponent)];
  if (issuerCert.remainder.length > 0) rec31.push(tlv(0x92, issuerCert.remainder));
  const rec32: Tlv[] = [tlv(0x9f46, iccCert.certificate), tlv(0x9f47, iccCert.exponent)];
  if (iccCert.remainder.length > 0) rec32.push(tlv(0x9f48, iccCert.remainder));

  const app: QvsdcApplicationProfile = {
    aid: 'A0000000031010',
    label: 'VISA CREDIT',
    priority: '01',
    kernelId: 3,
    pdol: QVSDC_PDOL,
    aip,
    // SFI 2 record 1 (one signed record), SFI 3 records 1-2 (certificates).
    afl: '10010101' + '18010200',
    gpoFormat: 2,
    records: { '2.1': record(rec21), '3.1': record(rec31), '3.2': record(rec32) },
    iccPrivateKey: icc.privateKey.export({ format: 'jwk' }),
    idnLength: 2,
    cvn: contact.cvn,
    issuerMasterKeys: contact.issuerMasterKeys,
    pan,
    panSequenceNumber: contact.panSequenceNumber,
    onlinePin: contact.onlinePin!,
    atc: 0x0030,
    lastOnlineAtc: 0x002e,
    offlineApprovalAllowed: true,
    issuerAuthenticationRequired: false,
    track2Equivalent: `${pan}D${expiry.slice(0, 4)}2011143800000`,
    ctq: spec.ctq,
    // Card, ISO 14443 antenna, no consumer-device CVM (Book C-3 9F6E layout).
    formFactor: '20700000',
    offlineLimit: 5000,
    cvmLimit: 10000,
    ...(spec.behaviour ? { behaviour: spec.behaviour } : {}),
  };
  return {
    name: spec.name,
    description: spec.description,
    form: 'card',
    type: 'A',
    uid: spec.uid,
    ppse: [{ aid: app.aid, label: app.label, priority: '01', kernelIdentifier: '03' }],
    applications: [app],
    contactProfile: 'visa-dda',
  };
}

const profiles = [
  makeCard({
    name: 'cl-visa-fdda',
    description:
      'Visa-style contactless card (qVSDC): offline approval (TC, fDDA) up to 50.00, ARQC above or when the reader asks; goes online if fDDA fails; the chip of visa-dda',
    uid: '04C3A10B',
    ctq: '2000',
  }),
  makeCard({
    name: 'cl-visa-contact',
    description: 'Visa-style contactless card that answers GPO with 6984: use the contact interface (insert visa-dda)',
    uid: '04C3A20C',
    ctq: '2000',
    behaviour: { gpoStatus: '6984' },
  }),
  makeCard({
    name: 'cl-visa-bad-fdda',
    description:
      'Visa-style contactless card whose fDDA signature does not verify (fault); its CTQ asks to go online when ODA fails',
    uid: '04C3A30D',
    ctq: '2000',
    behaviour: { wrongSdad: true },
  }),
];

const dir = join(packageRoot, 'emv', 'card');
mkdirSync(join(dir, 'contactless-profiles'), { recursive: true });
for (const p of profiles)
  writeFileSync(join(dir, 'contactless-profiles', `${p.name}.json`), JSON.stringify(p, null, 2) + '\n');
const caKeys: CaPublicKey[] = [
  {
    rid: RID,
    index: CA_INDEX,
    modulus: ca.publicKey.modulus.toString('hex').toUpperCase(),
    exponent: ca.publicKey.exponent.toString('hex').toUpperCase(),
    expiry: CA_EXPIRY,
  },
];
writeFileSync(
  join(dir, 'test-ca-c3.json'),
  JSON.stringify(
    {
      about:
        'codpos test CA public key of the Visa-style contactless cards (made by emv/card/make-contactless-c3.ts); never for production',
      keys: caKeys,
    },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`wrote ${profiles.length} contactless profiles and test-ca-c3.json\n`);
