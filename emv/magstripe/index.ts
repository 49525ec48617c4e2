/** Magnetic stripe (ISO/IEC 7813) parsing and the chip-first rule. */
export {
  parseTrack,
  parseTrack1,
  parseTrack2,
  parseTrack2Equivalent,
  track1Lrc,
  track2Lrc,
  isExpired,
  type TrackData,
} from './track.js';
export { explainServiceCode, decideSwipe, type ServiceCodeMeaning, type SwipeDecision } from './service-code.js';
