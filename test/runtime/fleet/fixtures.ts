/**
 * Shared set-up of the fleet link tests: a real mosquitto with per-terminal users and a back-end
 * user, links with short reconnect waits, a back-end MQTT client that records what it receives,
 * and waits on positive signals (never a sleep before a negative check).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Test } from 'tap';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createLogger, type Logger } from '../../../runtime/log.js';
import { FleetLink, type FleetLinkOptions } from '../../../runtime/fleet/link.js';
import { MemoryFleetOutbox } from '../../../runtime/fleet/memory-outbox.js';
import { prng } from '../../helpers/prng.js';
import { testBroker, type Broker, type BrokerUser } from '../../helpers/mosquitto.js';

export const PREFIX = 'codpos/v1';
export const GROUP = 'north';
export const USERS: BrokerUser[] = [
  { username: 'TERM0001', password: 'pw-term-1', group: GROUP },
  { username: 'TERM0002', password: 'pw-term-2', group: GROUP },
  { username: 'backend', password: 'pw-backend', role: 'backend' },
];
export const PASSWORDS: Record<string, string> = Object.fromEntries(USERS.map((u) => [u.username, u.password]));

/** Long enough for a loaded 2-core box; the tests wait on signals, this only bounds a hang. */
export const PATIENCE_MS = 60_000;

export function fleetBroker(t: Test, extra: Parameters<typeof testBroker>[1] = {}): Promise<Broker> {
  return testBroker(t, { users: USERS, topicPrefix: PREFIX, ...extra });
}

/**
 * A daemon config's fleet section for `terminal` on the test broker: its password in a 0600 file
 * in `dir`, short reconnect waits so a restarted broker is found again at once.
 */
export function daemonFleetSection(broker: Broker, dir: string, terminal: string) {
  const passwordFile = join(dir, 'fleet.pw');
  writeFileSync(passwordFile, `${PASSWORDS[terminal]}\n`, { mode: 0o600 });
  return { url: broker.url, group: GROUP, passwordFile, reconnectMinMs: 20, reconnectMaxMs: 200 };
}

export interface LogLines {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

export function capturedLogger(): LogLines {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as never);
        done();
      },
    }),
  });
  return { logger, lines };
}

export function makeLink(
  t: Test,
  broker: Broker,
  overrides: Partial<FleetLinkOptions> & { terminalId?: string } = {},
): FleetLink {
  const terminalId = overrides.terminalId ?? 'TERM0001';
  const random = prng(0x5eed + terminalId.charCodeAt(7));
  const link = new FleetLink({
    url: broker.url,
    terminalId,
    group: GROUP,
    topicPrefix: PREFIX,
    username: terminalId,
    password: PASSWORDS[terminalId] ?? 'none',
    keepaliveSeconds: 30,
    sessionExpirySeconds: 3600,
    connectTimeoutMs: 10_000,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    outbox: new MemoryFleetOutbox(),
    random,
    version: 'test',
    ...overrides,
  });
  t.teardown(() => link.stop());
  return link;
}

/** Resolves when `condition` holds (polled), or fails naming `what`. */
export async function until(condition: () => boolean, what: string, limitMs = PATIENCE_MS): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export interface BackendClient {
  client: MqttClient;
  received: Received[];
  /** Parsed JSON payloads received on a topic. */
  on(topic: string): Array<Record<string, unknown>>;
  end(): Promise<void>;
}

/** An MQTT 5 client (the operator's back-end by default) that records every message it gets. */
export async function mqttClient(
  t: Test,
  broker: Broker,
  options: IClientOptions & { subscribe?: string[]; url?: string } = {},
): Promise<BackendClient> {
  const { subscribe = [], url = broker.url, ...rest } = options;
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    username: 'backend',
    password: PASSWORDS.backend!,
    reconnectPeriod: 0,
    connectTimeout: PATIENCE_MS,
    ...rest,
  });
  client.on('error', () => undefined);
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) =>
    received.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('close', () => reject(new Error('the test client could not connect')));
  });
  if (subscribe.length > 0) await client.subscribeAsync(subscribe, { qos: 1 });
  const end = () => new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  t.teardown(end);
  return {
    client,
    received,
    on: (topic) =>
      received.filter((r) => r.topic === topic).map((r) => JSON.parse(r.payload) as Record<string, unknown>),
    end,
  };
}

/** A well-formed inbound FleetMessage. */
export function fleetMessage(id: string, type: string, data: Record<string, unknown>, terminal?: string): string {
  return JSON.stringify({ id, type, at: '2026-06-01T08:00:00.000Z', ...(terminal ? { terminal } : {}), data });
}
