/**
 * The C-2 relay resistance timing check at its edges: what is taken off the measured time, and
 * where within-limits turns into faster-than-possible, time-limits-exceeded or threshold-exceeded.
 */
import t from 'tap';
import {
  judgeRelayResistance,
  measuredProcessingTime,
  parseDeviceRelayResistanceData,
  type DeviceRelayResistanceData,
  type TerminalRelayResistanceSettings,
} from '../../../emv/contactless/c2-relay-resistance.js';

const device: DeviceRelayResistanceData = {
  entropy: Buffer.from('01020304', 'hex'),
  minTimeForProcessing: 10,
  maxTimeForProcessing: 30,
  estimatedTransmissionTime: 18,
};
const terminal: TerminalRelayResistanceSettings = {
  minGracePeriod: 5,
  maxGracePeriod: 10,
  accuracyThreshold: 300,
  mismatchThreshold: 30,
  expectedCommandTransmissionTime: 18,
  expectedResponseTransmissionTime: 18,
};

t.test('the measured processing time: the exchange less both transmission times, never negative', async (t) => {
  t.equal(measuredProcessingTime(56, device, terminal), 20);
  t.equal(
    measuredProcessingTime(56, { ...device, estimatedTransmissionTime: 10 }, terminal),
    28,
    "the card's estimate when smaller than the terminal's",
  );
  t.equal(
    measuredProcessingTime(56, device, { ...terminal, expectedResponseTransmissionTime: 12 }),
    26,
    "the terminal's when smaller",
  );
  t.equal(measuredProcessingTime(56, device, { ...terminal, expectedCommandTransmissionTime: 20 }), 18);
  t.equal(measuredProcessingTime(30, device, terminal), 0, 'never below zero');
});

t.test('limits: min less the min grace, max plus the max grace, both inclusive', async (t) => {
  t.equal(judgeRelayResistance(5, device, terminal), 'within-limits', 'at 10 - 5');
  t.equal(judgeRelayResistance(4, device, terminal), 'faster-than-possible');
  t.equal(judgeRelayResistance(40, device, terminal), 'within-limits', 'at 30 + 10');
  t.equal(judgeRelayResistance(41, device, terminal), 'time-limits-exceeded');
  t.equal(
    judgeRelayResistance(0, { ...device, minTimeForProcessing: 3 }, terminal),
    'within-limits',
    'a minimum under the grace period floors at zero',
  );
});

t.test('thresholds: accuracy over the minimum, and the transmission estimates mismatch both ways', async (t) => {
  const accurate = { ...terminal, accuracyThreshold: 10 };
  t.equal(judgeRelayResistance(20, device, accurate), 'within-limits', '10 over the minimum is still accurate');
  t.equal(judgeRelayResistance(21, device, accurate), 'threshold-exceeded');
  t.equal(
    judgeRelayResistance(20, { ...device, estimatedTransmissionTime: 60 }, terminal),
    'within-limits',
    '18 is 30% of 60: at the threshold',
  );
  t.equal(judgeRelayResistance(20, { ...device, estimatedTransmissionTime: 61 }, terminal), 'threshold-exceeded');
  t.equal(
    judgeRelayResistance(20, { ...device, estimatedTransmissionTime: 5 }, terminal),
    'threshold-exceeded',
    "the card's estimate under 30% of the terminal's",
  );
  t.equal(
    judgeRelayResistance(20, { ...device, estimatedTransmissionTime: 6 }, { ...terminal, mismatchThreshold: 33 }),
    'within-limits',
    '6 is 33.3% of 18',
  );
  t.equal(
    judgeRelayResistance(20, { ...device, estimatedTransmissionTime: 0 }, terminal),
    'within-limits',
    'a card that gives no estimate is not a mismatch',
  );
  t.equal(
    judgeRelayResistance(20, device, { ...terminal, expectedResponseTransmissionTime: 0 }),
    'within-limits',
    'nor a terminal that has none',
  );
});

t.test('the card answer: exactly 10 bytes of entropy and three timings', async (t) => {
  t.same(parseDeviceRelayResistanceData(Buffer.from('A1B2C3D4' + '000A' + '001E' + '0012', 'hex')), {
    entropy: Buffer.from('A1B2C3D4', 'hex'),
    minTimeForProcessing: 10,
    maxTimeForProcessing: 30,
    estimatedTransmissionTime: 18,
  });
  t.equal(parseDeviceRelayResistanceData(Buffer.alloc(9)), undefined);
  t.equal(parseDeviceRelayResistanceData(Buffer.alloc(11)), undefined);
});
