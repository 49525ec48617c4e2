/** Virtual EMV cards: an applet answering APDUs from JSON profiles, and the shipped profiles. */
export { VirtualCard } from './virtual-card.js';
export {
  loadCardProfile,
  listCardProfiles,
  profilesDirectory,
  type CardProfile,
  type CardApplicationProfile,
  type CardFaults,
  type CardCvn,
} from './profile.js';
export { testCaPublicKeys } from './test-ca.js';
export { VirtualContactlessCard, ppseFci } from './virtual-contactless-card.js';
export {
  listContactlessProfiles,
  loadContactlessProfile,
  contactlessProfilesDirectory,
} from './contactless-profiles.js';
export { virtualContactlessCard, contactlessAppletFor } from './contactless-cards.js';
export type { ContactlessCardProfile, ContactlessApplicationBase, ContactlessApplet } from './contactless-profile.js';
