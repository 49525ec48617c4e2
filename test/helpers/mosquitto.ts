/**
 * A real mosquitto for a test (scripts/fleet/mosquitto.ts): started on a free port, killed and
 * its directory removed at the test's teardown.
 */
import type { Test } from 'tap';
import { startMosquitto, type Broker, type MosquittoOptions } from '../../scripts/fleet/mosquitto.js';

export type { Broker, BrokerUser } from '../../scripts/fleet/mosquitto.js';

export async function testBroker(t: Test, options: MosquittoOptions = {}): Promise<Broker> {
  const broker = await startMosquitto(options);
  t.teardown(() => broker.remove());
  return broker;
}
