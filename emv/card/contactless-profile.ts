/**
 * A virtual contactless card's (or phone wallet's) profile: what it answers in the reader's
 * field. Like the contact profiles (profile.ts), made once by a maker and committed, so every
 * test runs against the same bytes; they live in emv/card/contactless-profiles/ (apart from the
 * contact cards', which the reader simulator's slot lists).
 *
 * The card lists its applications in the PPSE (`2PAY.SYS.DDF01`); each application is run by an
 * applet of its kernel's style (the Visa-style qVSDC applet, the Mastercard-style M/Chip applet),
 * whose own data (records, keys, counters, behaviour) extends ContactlessApplicationBase.
 */
import type { KernelId } from '../contactless/types.js';

/** What every contactless application profile has; each applet's profile type extends it. */
export interface ContactlessApplicationBase {
  aid: string;
  label: string;
  kernelId: KernelId;
  /** Tag 87 value as hex (low nibble = priority). */
  priority?: string;
}

export interface PpseEntry {
  aid: string;
  label?: string;
  /** Tag 87 as hex. */
  priority?: string;
  /** Kernel identifier (9F2A) as hex, as the card lists it; absent = the AID's default kernel. */
  kernelIdentifier?: string;
}

export interface ContactlessCardProfile {
  name: string;
  description: string;
  /** A card, or a phone (consumer-device CVM: the cardholder verifies on the phone). */
  form: 'card' | 'phone';
  /** ISO 14443 type and UID (type A) / PUPI (type B) as hex. */
  type: 'A' | 'B';
  uid: string;
  /** The PPSE directory; absent = the card has no PPSE (Entry Point ends: try another interface). */
  ppse?: PpseEntry[];
  applications: ContactlessApplicationBase[];
  /** The contact chip profile of the same card (profiles/NAME.json), for "try another interface". */
  contactProfile?: string;
}

/** An applet: answers the APDUs of its application once it is selected (SELECT of its AID included). */
export interface ContactlessApplet {
  readonly aid: string;
  handle(apdu: Buffer): Buffer;
}
