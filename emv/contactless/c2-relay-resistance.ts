/**
 * The relay resistance protocol's timing check (EMV Contactless Book C-2, EXCHANGE RELAY
 * RESISTANCE DATA): from the time the reader measured for the exchange, take away what the
 * radio link itself costs, and compare what is left (the card's processing time) with the
 * limits the card announced, widened by the terminal's grace periods. A relay (a phone
 * forwarding the card's answers from elsewhere) adds time the card cannot account for.
 *
 * All times are in units of 100 microseconds, as the book's data elements are. Pure.
 */

/** What the card answered (template 80 of the EXCHANGE RELAY RESISTANCE DATA response). */
export interface DeviceRelayResistanceData {
  entropy: Buffer;
  minTimeForProcessing: number;
  maxTimeForProcessing: number;
  estimatedTransmissionTime: number;
}

/** The terminal's side: the combination's grace periods and thresholds, and its own transmission times. */
export interface TerminalRelayResistanceSettings {
  minGracePeriod: number;
  maxGracePeriod: number;
  /** Largest processing time above the card's minimum that is still accurate. */
  accuracyThreshold: number;
  /** Percent: how far the terminal's and the card's transmission time estimates may differ. */
  mismatchThreshold: number;
  /** The terminal's expected transmission time of the command and of the response. */
  expectedCommandTransmissionTime: number;
  expectedResponseTransmissionTime: number;
}

export type RelayResistanceVerdict =
  /** The processing time is within the card's limits and the estimates agree. */
  | 'within-limits'
  /** Within the limits, but the estimates mismatch or the time is less accurate than wanted (TVR B5b4). */
  | 'threshold-exceeded'
  /** Slower than the card's maximum plus the grace period: retry, then TVR B5b3. */
  | 'time-limits-exceeded'
  /** Faster than the card's minimum minus the grace period: the card's data cannot be true; the book ends the transaction. */
  | 'faster-than-possible';

/** Parses the 10-byte value of template 80: entropy (4), min (2), max (2), estimated transmission time (2). */
export function parseDeviceRelayResistanceData(value: Buffer): DeviceRelayResistanceData | undefined {
  if (value.length !== 10) return undefined;
  return {
    entropy: Buffer.from(value.subarray(0, 4)),
    minTimeForProcessing: value.readUInt16BE(4),
    maxTimeForProcessing: value.readUInt16BE(6),
    estimatedTransmissionTime: value.readUInt16BE(8),
  };
}

/** The measured processing time: the exchange's time less the transmission times (never below 0). */
export function measuredProcessingTime(
  elapsed: number,
  device: DeviceRelayResistanceData,
  terminal: TerminalRelayResistanceSettings,
): number {
  const transmission =
    terminal.expectedCommandTransmissionTime +
    Math.min(device.estimatedTransmissionTime, terminal.expectedResponseTransmissionTime);
  return Math.max(0, elapsed - transmission);
}

export function judgeRelayResistance(
  measured: number,
  device: DeviceRelayResistanceData,
  terminal: TerminalRelayResistanceSettings,
): RelayResistanceVerdict {
  if (measured < Math.max(0, device.minTimeForProcessing - terminal.minGracePeriod)) return 'faster-than-possible';
  if (measured > device.maxTimeForProcessing + terminal.maxGracePeriod) return 'time-limits-exceeded';
  const estimate = device.estimatedTransmissionTime;
  const expected = terminal.expectedResponseTransmissionTime;
  const mismatch =
    estimate !== 0 &&
    expected !== 0 &&
    ((expected * 100) / estimate < terminal.mismatchThreshold ||
      (estimate * 100) / expected < terminal.mismatchThreshold);
  const inaccurate = measured - device.minTimeForProcessing > terminal.accuracyThreshold;
  return mismatch || inaccurate ? 'threshold-exceeded' : 'within-limits';
}
