/**
 * Makes the shipped virtual card profiles ONCE: a codpos test CA per RID, issuer keys,
 * ICC keys, certificates over each card's static data, records. The output is committed
 * (emv/card/profiles/*.json, emv/card/test-ca.json) so every run of the tests uses the
 * same bytes. Run again only to change a card:
 *   npm run build && node dist/emv/card/make-profiles.js
 * Test keys only: the CA and issuer private keys are not kept; the ICC private keys are
 * in the profiles because a card must sign at run time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonWebKey } from 'node:crypto';
import { packageRoot } from '../../config/paths.js';
import { encodeTlv, type Tlv } from '../tlv/index.js';
import {
  buildIccCertificate,
  buildIssuerCertificate,
  generateRsaKeyPair,
  signStaticData,
  type RsaKeyPair,
} from '../crypto/oda-sign.js';
import type { CardApplicationProfile, CardCvn, CardProfile } from './profile.js';
import type { CaPublicKey } from '../kernel/types.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1');
const tlv = (tag: number, value: Buffer): Tlv => ({ tag, value });
const record = (items: Tlv[]) =>
  encodeTlv([{ tag: 0x70, value: Buffer.alloc(0), children: items }])
    .toString('hex')
    .toUpperCase();

const CA_INDEX = 'C1';
const CA_EXPIRY = '351231';

interface SchemeKeys {
  rid: string;
  ca: RsaKeyPair;
  issuer: RsaKeyPair;
}

function scheme(rid: string): SchemeKeys {
  return { rid, ca: generateRsaKeyPair(1152, 3), issuer: generateRsaKeyPair(1024, 3) };
}

const ISSUER_MASTER_KEYS = {
  // The issuer master keys of the pyemv CVN vectors (emv-crypto.json emv_scheme_cvn).
  ac: '0123456789ABCDEFFEDCBA9876543210',
  smi: 'FEDCBA98765432100123456789ABCDEF',
  smc: '89ABCDEF0123456776543210FEDCBA98',
};

const VISA_CDOL1 = '9F02069F03069F1A0295055F2A029A039C019F3704';
const VISA_CDOL2 = '8A029F02069F03069F1A0295055F2A029A039C019F3704';
const MC_CDOL1 = '9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F3403';
const MC_CDOL2 = '910A8A0295059F37049F4C08';

interface CardSpec {
  name: string;
  description: string;
  keys: SchemeKeys;
  oda: 'SDA' | 'DDA' | 'CDA';
  aid: string;
  label: string;
  priority?: string;
  pse: boolean;
  pdol?: string;
  gpoFormat: 1 | 2;
  aip: string;
  pan: string;
  expiry: string; // YYMMDD
  effective: string;
  serviceCode: string;
  name1: string;
  cvmList: string;
  iac: { denial: string; online: string; default: string };
  cdol1: string;
  cdol2: string;
  cvn: CardCvn;
  offlineApprovalAllowed: boolean;
  issuerAuthenticationRequired: boolean;
  atc: number;
  lastOnlineAtc: number;
  applicationVersion: string;
}

function makeCard(spec: CardSpec): CardProfile {
  const { keys } = spec;
  const pan = spec.pan;
  const expYymm = spec.expiry.slice(0, 4);
  const track2 = `${pan}=${expYymm}${spec.serviceCode}1143800000`;
  const track2Digits = `${pan}D${expYymm}${spec.serviceCode}1143800000`;
  const track2Eq = hex(track2Digits.length % 2 ? track2Digits + 'F' : track2Digits);
  // SFI 1 record 1: track data (ODA). SFI 2 record 1: application data (ODA).
  const rec11 = [tlv(0x57, track2Eq), tlv(0x5f20, ascii(spec.name1)), tlv(0x9f1f, ascii('1143800000'))];
  const rec21: Tlv[] = [
    tlv(0x5a, hex(pan.length % 2 ? pan + 'F' : pan)),
    tlv(0x5f24, hex(spec.expiry)),
    tlv(0x5f25, hex(spec.effective)),
    tlv(0x5f28, hex('0840')),
    tlv(0x5f34, hex('01')),
    tlv(0x9f07, hex('FF00')),
    tlv(0x9f08, hex(spec.applicationVersion)),
    tlv(0x8e, hex(spec.cvmList)),
    tlv(0x9f0d, hex(spec.iac.default)),
    tlv(0x9f0e, hex(spec.iac.denial)),
    tlv(0x9f0f, hex(spec.iac.online)),
    tlv(0x8c, hex(spec.cdol1)),
    tlv(0x8d, hex(spec.cdol2)),
    tlv(0x9f4a, hex('82')),
    tlv(0x9f14, hex('03')),
    tlv(0x9f23, hex('06')),
    tlv(0x9f42, hex('0840')),
    tlv(0x9f44, hex('02')),
  ];
  if (spec.oda === 'DDA') rec21.push(tlv(0x9f49, hex('9F3704')));
  const staticData = Buffer.concat([encodeTlv(rec11), encodeTlv(rec21), hex(spec.aip)]);

  const issuerCert = buildIssuerCertificate({
    ca: keys.ca,
    issuerKey: keys.issuer.publicKey,
    issuerId: pan.slice(0, 6),
    expiry: '1230',
    serial: hex('C0D901'),
  });
  const rec31: Tlv[] = [tlv(0x8f, hex(CA_INDEX)), tlv(0x90, issuerCert.certificate), tlv(0x9f32, issuerCert.exponent)];
  if (issuerCert.remainder.length > 0) rec31.push(tlv(0x92, issuerCert.remainder));
  const records: Record<string, string> = { '1.1': record(rec11), '2.1': record(rec21) };
  let iccPrivateKey: JsonWebKey | undefined;
  let afl: string;
  if (spec.oda === 'SDA') {
    // In a record of its own: with the issuer certificate it would pass 256 bytes.
    records['3.2'] = record([tlv(0x93, signStaticData({ issuer: keys.issuer, dac: hex('DAC1'), staticData }))]);
    afl = '08010101' + '10010101' + '18010200';
  } else {
    const icc = generateRsaKeyPair(768, 3);
    const iccCert = buildIccCertificate({
      issuer: keys.issuer,
      iccKey: icc.publicKey,
      pan,
      expiry: '1230',
      serial: hex('C0D902'),
      staticData,
    });
    const rec32: Tlv[] = [tlv(0x9f46, iccCert.certificate), tlv(0x9f47, iccCert.exponent)];
    if (iccCert.remainder.length > 0) rec32.push(tlv(0x9f48, iccCert.remainder));
    records['3.2'] = record(rec32);
    afl = '08010101' + '10010101' + '18010200';
    iccPrivateKey = icc.privateKey.export({ format: 'jwk' });
  }
  records['3.1'] = record(rec31);

  const app: CardApplicationProfile = {
    aid: spec.aid,
    label: spec.label,
    ...(spec.priority ? { priority: spec.priority } : {}),
    ...(spec.pdol ? { pdol: spec.pdol } : {}),
    aip: spec.aip,
    afl,
    gpoFormat: spec.gpoFormat,
    records,
    ...(iccPrivateKey ? { iccPrivateKey, idnLength: 8 } : {}),
    cvn: spec.cvn,
    issuerMasterKeys: ISSUER_MASTER_KEYS,
    pan,
    panSequenceNumber: '01',
    onlinePin: '1234',
    atc: spec.atc,
    lastOnlineAtc: spec.lastOnlineAtc,
    offlineApprovalAllowed: spec.offlineApprovalAllowed,
    issuerAuthenticationRequired: spec.issuerAuthenticationRequired,
  };
  const pse = spec.pse
    ? {
        sfi: 1,
        records: [
          encodeTlv([
            {
              tag: 0x70,
              value: Buffer.alloc(0),
              children: [
                {
                  tag: 0x61,
                  value: Buffer.alloc(0),
                  children: [
                    tlv(0x4f, hex(spec.aid)),
                    tlv(0x50, ascii(spec.label)),
                    ...(spec.priority ? [tlv(0x87, hex(spec.priority))] : []),
                  ],
                },
              ],
            },
          ])
            .toString('hex')
            .toUpperCase(),
        ],
      }
    : undefined;
  return {
    name: spec.name,
    description: spec.description,
    atr: '3B6800000073C84013009000',
    chip: true,
    ...(pse ? { pse } : {}),
    applications: [app],
    tracks: {
      track1: `%B${pan}^${spec.name1}^${expYymm}${spec.serviceCode}1143800000000000?`,
      track2: `;${track2}?`,
    },
  };
}

const visa = scheme('A000000003');
const mc = scheme('A000000004');

const VISA_IAC = { denial: '0010000000', online: 'DC4004F800', default: 'DC4000A800' };
const MC_IAC = { denial: '0000000000', online: 'FC50BCF800', default: 'FC50BCA000' };
// Online PIN (apply next if it fails), else signature, else no CVM; each "if terminal supports".
const CVM_ONLINE_PIN_SIGNATURE = '00000000000000004203' + '1E03' + '1F03';
const CVM_SIGNATURE = '0000000000000000' + '1E03' + '1F03';

const visaBase = {
  keys: visa,
  aid: 'A0000000031010',
  label: 'VISA CREDIT',
  priority: '01',
  gpoFormat: 1 as const,
  pdol: '9F1A025F2A02',
  effective: '200101',
  serviceCode: '201',
  name1: 'CARDHOLDER/VISA',
  iac: VISA_IAC,
  cdol1: VISA_CDOL1,
  cdol2: VISA_CDOL2,
  offlineApprovalAllowed: true,
  issuerAuthenticationRequired: true,
  atc: 0x0010,
  lastOnlineAtc: 0x000e,
  applicationVersion: '0096',
};

const profiles: CardProfile[] = [
  makeCard({
    ...visaBase,
    name: 'visa-dda',
    description:
      'Visa-style credit card: PSE, PDOL, DDA, online PIN/signature, CVN 10, issuer authentication by EXTERNAL AUTHENTICATE',
    oda: 'DDA',
    pse: true,
    aip: '3C00',
    pan: '4761739001010119',
    expiry: '301231',
    cvmList: CVM_ONLINE_PIN_SIGNATURE,
    cvn: 'visa-cvn10',
  }),
  makeCard({
    name: 'mc-cda',
    description:
      'Mastercard-style card: no PSE (list of AIDs), CDA, CVN 16, issuer authentication data in the second GENERATE AC (tag 91 in CDOL2)',
    keys: mc,
    oda: 'CDA',
    aid: 'A0000000041010',
    label: 'MASTERCARD',
    priority: '01',
    pse: false,
    gpoFormat: 2,
    aip: '3D00',
    pan: '5413330089010434',
    expiry: '301231',
    effective: '200101',
    serviceCode: '201',
    name1: 'CARDHOLDER/MC',
    cvmList: CVM_ONLINE_PIN_SIGNATURE,
    iac: MC_IAC,
    cdol1: MC_CDOL1,
    cdol2: MC_CDOL2,
    cvn: 'mastercard-cvn16',
    offlineApprovalAllowed: true,
    issuerAuthenticationRequired: true,
    atc: 0x0021,
    lastOnlineAtc: 0x0020,
    applicationVersion: '0002',
  }),
  makeCard({
    ...visaBase,
    name: 'sda',
    description: 'Visa-style SDA card: no PSE, no PDOL, signature CVM, CVN 18 (ARPC method 2)',
    oda: 'SDA',
    pse: false,
    pdol: undefined as unknown as string,
    aip: '5C00',
    pan: '4761739001010010',
    expiry: '301231',
    name1: 'CARDHOLDER/SDA',
    cvmList: CVM_SIGNATURE,
    cvn: 'visa-cvn18',
  }),
  makeCard({
    ...visaBase,
    name: 'expired',
    description: 'Visa-style DDA card whose application expired on 2020-01-31 (5F24 200131)',
    oda: 'DDA',
    pse: true,
    aip: '3C00',
    pan: '4761739001010028',
    expiry: '200131',
    effective: '170101',
    // The issuer denies an expired application offline (IAC denial: service not allowed + expired).
    iac: { ...VISA_IAC, denial: '0050000000' },
    cvmList: CVM_ONLINE_PIN_SIGNATURE,
    cvn: 'visa-cvn10',
  }),
];
// The SDA card has no PDOL: drop the inherited key rather than store `undefined`.
for (const p of profiles) for (const a of p.applications) if (a.pdol === undefined) delete a.pdol;

profiles.push({
  name: 'magstripe-only',
  description: 'A card without chip: service code 101, swipe accepted at once (entry mode 90)',
  chip: false,
  applications: [],
  tracks: {
    track1: '%B4111111111111111^CARDHOLDER/STRIPE^3012101000000000000?',
    track2: ';4111111111111111=30121011234500000000?',
  },
});
profiles.push({
  name: 'mute-chip',
  description:
    'A chip card whose chip does not answer the reset: service code 201, swipe accepted only as fallback (entry mode 80)',
  atr: '3B6800000073C84013009000',
  chip: true,
  applications: [],
  tracks: {
    track1: '%B5413330089010442^CARDHOLDER/MUTE^3012201000000000000?',
    track2: ';5413330089010442=30122011143800000000?',
  },
  faults: { mute: true },
});

const dir = join(packageRoot, 'emv', 'card');
for (const p of profiles) writeFileSync(join(dir, 'profiles', `${p.name}.json`), JSON.stringify(p, null, 2) + '\n');
const caKeys: CaPublicKey[] = [visa, mc].map((s) => ({
  rid: s.rid,
  index: CA_INDEX,
  modulus: s.ca.publicKey.modulus.toString('hex').toUpperCase(),
  exponent: s.ca.publicKey.exponent.toString('hex').toUpperCase(),
  expiry: CA_EXPIRY,
}));
writeFileSync(
  join(dir, 'test-ca.json'),
  JSON.stringify(
    { about: 'codpos test CA public keys (made by emv/card/make-profiles.ts); never for production', keys: caKeys },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`wrote ${profiles.length} profiles and test-ca.json\n`);
