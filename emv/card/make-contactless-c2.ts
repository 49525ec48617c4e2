/**
 * Makes the shipped Mastercard-style contactless profiles ONCE (emv/card/contactless-profiles/
 * cl-mc-*.json) under a test CA of their own (index C2, public key in emv/card/test-ca-c2.json):
 * the contact maker's CA private keys are not kept, so this maker never touches its files.
 * Run again only to change a card (all three cards get new keys):
 *   npm run build && node dist/emv/card/make-contactless-c2.js
 * Test keys only: the CA and issuer private keys are not kept; the ICC private keys are in
 * the profiles because a card must sign at run time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import { encodeTlv, type Tlv } from '../tlv/index.js';
import {
  buildIccCertificate,
  buildIssuerCertificate,
  generateRsaKeyPair,
  type RsaKeyPair,
} from '../crypto/oda-sign.js';
import type { CaPublicKey } from '../kernel/types.js';
import type { C2ApplicationProfile, C2CardProfile, C2RelayResistanceTimes } from './contactless-c2-applet.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1');
const tlv = (tag: number, value: Buffer): Tlv => ({ tag, value });
const record = (items: Tlv[]) =>
  encodeTlv([{ tag: 0x70, value: Buffer.alloc(0), children: items }])
    .toString('hex')
    .toUpperCase();

const RID = 'A000000004';
const AID = 'A0000000041010';
const CA_INDEX = 'C2';
const CA_EXPIRY = '351231';

const ISSUER_MASTER_KEYS = {
  // The issuer master keys of the contact cards (and of the pyemv CVN vectors).
  ac: '0123456789ABCDEFFEDCBA9876543210',
  smi: 'FEDCBA98765432100123456789ABCDEF',
  smc: '89ABCDEF0123456776543210FEDCBA98',
};

// PDOL: terminal type, additional capabilities, terminal risk management data (C-2's CVM capabilities).
const PDOL = '9F3501' + '9F4005' + '9F1D08';
// The contact card's CDOL1 with the terminal risk management data added.
const CDOL1 = '9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F3403' + '9F1D08';
// Data recovery DOL: what identifies a torn transaction's GENERATE AC to RECOVER AC.
const DRDOL = '9F3704' + '9F0206';
// Online PIN if the terminal supports it (apply next), else signature, else no CVM.
const CVM_LIST = '0000000000000000' + '4203' + '1E03' + '1F03';
const IAC = { denial: '0000000000', online: 'FC50BCF800', default: 'FC50BCA000' };
// CDA, cardholder verification, terminal risk management; EMV mode, relay resistance.
const AIP_CARD = '1981';
// The same with on-device cardholder verification (byte 1 bit 2).
const AIP_PHONE = '1B81';
const RELAY_TIMES: C2RelayResistanceTimes = {
  minTimeForProcessing: 10,
  maxTimeForProcessing: 30,
  estimatedTransmissionTime: 18,
};

interface C2Spec {
  name: string;
  description: string;
  form: 'card' | 'phone';
  uid: string;
  aip: string;
  pan: string;
  name1: string;
  atc: number;
  contactProfile?: string;
  posCardholderInteraction?: string;
  wrongCdaSignature?: boolean;
}

function makeCard(spec: C2Spec, ca: RsaKeyPair, issuer: RsaKeyPair): C2CardProfile {
  const { pan } = spec;
  const expiry = '301231';
  const track2Digits = `${pan}D3012201${'1143800000'}`;
  const rec11 = [
    tlv(0x57, hex(track2Digits.length % 2 ? track2Digits + 'F' : track2Digits)),
    tlv(0x5f20, ascii(spec.name1)),
  ];
  const rec21: Tlv[] = [
    tlv(0x5a, hex(pan.length % 2 ? pan + 'F' : pan)),
    tlv(0x5f24, hex(expiry)),
    tlv(0x5f25, hex('200101')),
    tlv(0x5f28, hex('0840')),
    tlv(0x5f34, hex('01')),
    tlv(0x9f07, hex('FF00')),
    tlv(0x9f08, hex('0002')),
    tlv(0x8e, hex(CVM_LIST)),
    tlv(0x9f0d, hex(IAC.default)),
    tlv(0x9f0e, hex(IAC.denial)),
    tlv(0x9f0f, hex(IAC.online)),
    tlv(0x8c, hex(CDOL1)),
    tlv(0x9f51, hex(DRDOL)),
    tlv(0x9f4a, hex('82')),
    tlv(0x9f42, hex('0840')),
  ];
  const staticData = Buffer.concat([encodeTlv(rec11), encodeTlv(rec21), hex(spec.aip)]);
  const issuerCert = buildIssuerCertificate({
    ca,
    issuerKey: issuer.publicKey,
    issuerId: pan.slice(0, 6),
    expiry: '1230',
    serial: hex('C2D901'),
  });
  const rec31: Tlv[] = [tlv(0x8f, hex(CA_INDEX)), tlv(0x90, issuerCert.certificate), tlv(0x9f32, issuerCert.exponent)];
  if (issuerCert.remainder.length > 0) rec31.push(tlv(0x92, issuerCert.remainder));
  const icc = generateRsaKeyPair(768, 3);
  const iccCert = buildIccCertificate({
    issuer,
    iccKey: icc.publicKey,
    pan,
    expiry: '1230',
    serial: hex('C2D902'),
    staticData,
  });
  const rec32: Tlv[] = [tlv(0x9f46, iccCert.certificate), tlv(0x9f47, iccCert.exponent)];
  if (iccCert.remainder.length > 0) rec32.push(tlv(0x9f48, iccCert.remainder));
  const app: C2ApplicationProfile = {
    aid: AID,
    label: 'MASTERCARD',
    kernelId: 2,
    priority: '01',
    pdol: PDOL,
    aip: spec.aip,
    // SFI 1 and 2 records are signed (ODA); SFI 3 holds the certificates.
    afl: '08010101' + '10010101' + '18010200',
    gpoFormat: 2,
    records: { '1.1': record(rec11), '2.1': record(rec21), '3.1': record(rec31), '3.2': record(rec32) },
    iccPrivateKey: icc.privateKey.export({ format: 'jwk' }),
    idnLength: 8,
    cvn: 'mastercard-cvn16',
    issuerMasterKeys: ISSUER_MASTER_KEYS,
    pan,
    panSequenceNumber: '01',
    onlinePin: '1234',
    atc: spec.atc,
    lastOnlineAtc: spec.atc - 1,
    offlineApprovalAllowed: true,
    issuerAuthenticationRequired: false,
    relayResistance: RELAY_TIMES,
    ...(spec.posCardholderInteraction ? { posCardholderInteraction: spec.posCardholderInteraction } : {}),
    ...(spec.wrongCdaSignature ? { faults: { wrongCdaSignature: true } } : {}),
  };
  return {
    name: spec.name,
    description: spec.description,
    form: spec.form,
    type: 'A',
    uid: spec.uid,
    ppse: [{ aid: AID, label: 'MASTERCARD', priority: '01', kernelIdentifier: '02' }],
    applications: [app],
    ...(spec.contactProfile ? { contactProfile: spec.contactProfile } : {}),
  };
}

const ca = generateRsaKeyPair(1152, 3);
const issuer = generateRsaKeyPair(1024, 3);
const profiles = [
  makeCard(
    {
      name: 'cl-mc-cda-rrp',
      description:
        'Mastercard-style contactless card (M/Chip, kernel 2): CDA, relay resistance, online PIN/signature CVM list; the contact chip is mc-cda',
      form: 'card',
      uid: '04A1C2D3',
      aip: AIP_CARD,
      pan: '5413330089010434',
      name1: 'CARDHOLDER/MC',
      atc: 0x0041,
      contactProfile: 'mc-cda',
    },
    ca,
    issuer,
  ),
  makeCard(
    {
      name: 'cl-mc-phone',
      description:
        'Mastercard-style phone wallet (kernel 2): on-device cardholder verification (the phone unlocked), CDA, relay resistance',
      form: 'phone',
      uid: '08B2C3D4',
      aip: AIP_PHONE,
      pan: '5413330089020011',
      name1: 'CARDHOLDER/PHONE',
      atc: 0x0101,
      // Version 00; byte 2 bit 5: OD-CVM verification successful.
      posCardholderInteraction: '001000',
    },
    ca,
    issuer,
  ),
  makeCard(
    {
      name: 'cl-mc-bad-cda',
      description: 'Mastercard-style contactless card whose CDA signature does not verify (fault): the kernel declines',
      form: 'card',
      uid: '04E5F6A7',
      aip: AIP_CARD,
      pan: '5413330089030010',
      name1: 'CARDHOLDER/BADCDA',
      atc: 0x0011,
      wrongCdaSignature: true,
    },
    ca,
    issuer,
  ),
];

const dir = join(packageRoot, 'emv', 'card');
mkdirSync(join(dir, 'contactless-profiles'), { recursive: true });
for (const p of profiles)
  writeFileSync(join(dir, 'contactless-profiles', `${p.name}.json`), JSON.stringify(p, null, 2) + '\n');
const caKey: CaPublicKey = {
  rid: RID,
  index: CA_INDEX,
  modulus: ca.publicKey.modulus.toString('hex').toUpperCase(),
  exponent: ca.publicKey.exponent.toString('hex').toUpperCase(),
  expiry: CA_EXPIRY,
};
writeFileSync(
  join(dir, 'test-ca-c2.json'),
  JSON.stringify(
    {
      about:
        'codpos test CA public key of the Mastercard-style contactless cards (emv/card/make-contactless-c2.ts); never for production',
      keys: [caKey],
    },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`wrote ${profiles.length} profiles and test-ca-c2.json\n`);
