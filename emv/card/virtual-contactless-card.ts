/**
 * A virtual contactless card (or phone): the container a reader's field sees. It answers
 * SELECT of the PPSE `2PAY.SYS.DDF01` with a real FCI listing its applications, and routes
 * SELECT of an AID, and every command after it, to that application's applet (the Visa-style
 * and Mastercard-style applets run the application itself). An AID it does not hold gets 6A82,
 * as a card answers "file not found".
 */
import { PosError } from '../../config/errors.js';
import type { CardTransmit } from '../kernel/apdu.js';
import { encodeTlv, type Tlv } from '../tlv/index.js';
import type { ContactlessTarget } from '../contactless/types.js';
import type { ContactlessApplet, ContactlessApplicationBase, ContactlessCardProfile } from './contactless-profile.js';

const PPSE_NAME = Buffer.from('2PAY.SYS.DDF01', 'ascii');

const SW = {
  ok: Buffer.from([0x90, 0x00]),
  fileNotFound: Buffer.from([0x6a, 0x82]),
  conditionsNotSatisfied: Buffer.from([0x69, 0x85]),
  wrongLength: Buffer.from([0x67, 0x00]),
};

function isSelectByName(apdu: Buffer): boolean {
  return apdu[0] === 0x00 && apdu[1] === 0xa4 && apdu[2] === 0x04;
}

/** The PPSE's FCI (Book B 3.3.2.2): 6F { 84 DF name, A5 { BF0C { 61 { 4F, 50, 87, 9F2A }... } } }. */
export function ppseFci(profile: ContactlessCardProfile): Buffer {
  const entries: Tlv[] = (profile.ppse ?? []).map((entry) => {
    const children: Tlv[] = [{ tag: 0x4f, value: Buffer.from(entry.aid, 'hex') }];
    if (entry.label !== undefined) children.push({ tag: 0x50, value: Buffer.from(entry.label, 'latin1') });
    if (entry.priority !== undefined) children.push({ tag: 0x87, value: Buffer.from(entry.priority, 'hex') });
    if (entry.kernelIdentifier !== undefined) {
      children.push({ tag: 0x9f2a, value: Buffer.from(entry.kernelIdentifier, 'hex') });
    }
    return { tag: 0x61, value: Buffer.alloc(0), children };
  });
  return encodeTlv([
    {
      tag: 0x6f,
      value: Buffer.alloc(0),
      children: [
        { tag: 0x84, value: PPSE_NAME },
        {
          tag: 0xa5,
          value: Buffer.alloc(0),
          children: [{ tag: 0xbf0c, value: Buffer.alloc(0), children: entries }],
        },
      ],
    },
  ]);
}

export class VirtualContactlessCard {
  readonly profile: ContactlessCardProfile;
  readonly type: 'A' | 'B';
  readonly uid: Buffer;
  /** Every command header received (4 bytes hex), for tests and diagnostics; no data kept. */
  readonly log: string[] = [];
  /** The card channel as a function, for a reader or Entry Point. */
  readonly transmit: CardTransmit;
  /** Applets by AID (upper-case hex), made once so their counters live across taps. */
  private readonly applets = new Map<string, ContactlessApplet>();
  private selected: ContactlessApplet | undefined;

  constructor(
    profile: ContactlessCardProfile,
    appletFor: (application: ContactlessApplicationBase) => ContactlessApplet,
  ) {
    this.profile = profile;
    this.type = profile.type;
    this.uid = Buffer.from(profile.uid, 'hex');
    for (const application of profile.applications) {
      this.applets.set(application.aid.toUpperCase(), appletFor(application));
    }
    this.transmit = (apdu) => this.handle(apdu);
  }

  /** The card in the field, as the reader reports it. */
  asTarget(): ContactlessTarget {
    return { type: this.type, uid: this.uid, transmit: this.transmit };
  }

  handle(apdu: Buffer): Buffer {
    if (apdu.length < 4) {
      throw new PosError('CODPOS_EMV_APDU', `a command of ${apdu.length} bytes is shorter than its 4-byte header`, {
        details: { length: apdu.length },
      });
    }
    this.log.push(apdu.subarray(0, 4).toString('hex').toUpperCase());
    if (isSelectByName(apdu)) return this.select(apdu);
    if (!this.selected) return SW.conditionsNotSatisfied;
    return this.selected.handle(apdu);
  }

  private select(apdu: Buffer): Buffer {
    const length = apdu[4] ?? 0;
    if (apdu.length < 5 + length) return SW.wrongLength;
    const name = apdu.subarray(5, 5 + length);
    // A new SELECT leaves the application selected before it, whatever it finds.
    this.selected = undefined;
    if (name.equals(PPSE_NAME)) {
      if (!this.profile.ppse) return SW.fileNotFound;
      return Buffer.concat([ppseFci(this.profile), SW.ok]);
    }
    const applet = this.applets.get(name.toString('hex').toUpperCase());
    if (!applet) return SW.fileNotFound;
    this.selected = applet;
    return applet.handle(apdu);
  }
}
