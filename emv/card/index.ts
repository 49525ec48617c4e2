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
