/**
 * The shipped virtual contactless cards, ready to tap: a profile from
 * emv/card/contactless-profiles/ behind a VirtualContactlessCard whose applications are run by
 * the applet of their kernel's style (the Visa-style qVSDC applet for kernel 3, the
 * Mastercard-style M/Chip applet for kernel 2).
 */
import { PosError } from '../../config/errors.js';
import type { ContactlessApplet, ContactlessApplicationBase, ContactlessCardProfile } from './contactless-profile.js';
import { loadContactlessProfile } from './contactless-profiles.js';
import { QvsdcApplet, type QvsdcApplicationProfile } from './contactless-c3-applet.js';
import { C2Applet, type C2ApplicationProfile } from './contactless-c2-applet.js';
import { VirtualContactlessCard } from './virtual-contactless-card.js';

/** The applet that runs one application of a card (or phone) of this form. */
export function contactlessAppletFor(
  application: ContactlessApplicationBase,
  form: ContactlessCardProfile['form'],
): ContactlessApplet {
  switch (application.kernelId) {
    case 3:
      return new QvsdcApplet(application as QvsdcApplicationProfile, form);
    case 2:
      return new C2Applet(application as C2ApplicationProfile);
    default:
      throw new PosError(
        'CODPOS_EMV_UNKNOWN_CARD',
        `application ${application.aid} names kernel ${String(application.kernelId)}: the virtual cards have applets for kernels 2 and 3`,
        { details: { aid: application.aid } },
      );
  }
}

/** A shipped virtual contactless card by name (`cl-visa-fdda`, `cl-mc-phone`, ...), fresh counters each call. */
export function virtualContactlessCard(name: string): VirtualContactlessCard {
  const profile = loadContactlessProfile(name);
  return new VirtualContactlessCard(profile, (application) => contactlessAppletFor(application, profile.form));
}
